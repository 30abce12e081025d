"""The outbox: hands due ledger rows to the send workers in batches — never one job per recipient.

`dispatch_due` (run by the tick, and right after a broadcast is confirmed) claims every row that is due —
queued, or held until a time that has come — for an hour, and queues send jobs that carry the row ids and the
claim. A job takes its rows over only if the claim is still the one it was given, so a row queued twice (its
job was lost, and the hour passed) is sent by one job. A worker that dies mid-batch leaves its rows claimed
for `SEND_CLAIM_SECONDS`; the next dispatch after that hands them out again, and LINE's retry key turns the
repeated push into a 409.

Channels can be stopped (LINE's monthly quota is spent, an SMS account is suspended): their rows wait, queued,
until an operator resumes the channel or, for LINE's quota, the month turns.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from redis import Redis
from rq import Queue
from sqlalchemy import Engine, or_, select, update

from bot.config import Settings
from bot.queues import ANSWERS as ANSWERS_QUEUE
from bot.queues import DELIVERIES as DELIVERIES_QUEUE
from models import Delivery, DeliveryStatus

log = logging.getLogger(__name__)
DELIVERIES = Delivery.__table__
DISPATCH_CLAIM = timedelta(hours=1)  # how long a queued job has to start before its rows are handed out again
CLAIM_BATCH = 5_000
GROUPS_PER_JOB = 10  # multicast groups (≤ 500 recipients each) per send job
WAITING = (DeliveryStatus.QUEUED, DeliveryStatus.HELD)
_STOPPED = "delivery:stopped:"


def new_token() -> str:
    """The public token of a ledger row's links (/r/, /o/, /u/): 96 random bits, 16 characters."""
    return secrets.token_urlsafe(12)


def claim_token(moment: datetime) -> str:
    return moment.isoformat()


def dispatch_due(engine: Engine, redis: Redis, settings: Settings, now: datetime) -> int:
    """Claim every due row of every running channel and queue its send jobs; returns the rows handed out."""
    stopped = stopped_channels(redis)
    handed = 0
    while True:
        until = now + DISPATCH_CLAIM
        claimed = _claim(engine, now, until, stopped)
        queue = Queue(DELIVERIES_QUEUE, connection=redis)
        for channel, ids in plan_jobs(claimed, settings.send_batch_size):
            queue.enqueue(
                "bot.sending.send_deliveries",
                channel,
                ids,
                claim_token(until),
                job_timeout=settings.send_claim_seconds,
                result_ttl=600,
                failure_ttl=7 * 24 * 3600,
            )
        handed += len(claimed)
        if len(claimed) < CLAIM_BATCH:
            if handed:
                log.info("dispatched %s deliveries", handed)
            return handed


def dispatch_answers(engine: Engine, redis: Redis, settings: Settings, ids: list[int], now: datetime) -> int:
    """Hand chat answers to the send workers at once, on their own queue ahead of bulk sends (a broadcast in
    progress must not make a waiting customer's reply token expire). Rows already claimed are left alone."""
    until = now + DISPATCH_CLAIM
    with engine.begin() as connection:
        claimed = connection.execute(
            update(DELIVERIES)
            .where(
                DELIVERIES.c.id.in_(ids),
                DELIVERIES.c.status.in_(WAITING),
                or_(DELIVERIES.c.claimed_until.is_(None), DELIVERIES.c.claimed_until <= now),
            )
            .values(claimed_until=until)
            .returning(DELIVERIES.c.id, DELIVERIES.c.channel)
        ).all()
    queue = Queue(ANSWERS_QUEUE, connection=redis)
    by_channel: dict[str, list[int]] = {}
    for row_id, channel in claimed:
        by_channel.setdefault(channel, []).append(row_id)
    for channel, row_ids in by_channel.items():
        queue.enqueue(
            "bot.sending.send_deliveries",
            channel,
            sorted(row_ids),
            claim_token(until),
            job_timeout=settings.send_claim_seconds,
            result_ttl=600,
            failure_ttl=7 * 24 * 3600,
        )
    return len(claimed)


def _claim(
    engine: Engine, now: datetime, until: datetime, stopped: set[str]
) -> list[tuple[int, str, str | None]]:
    due = (
        select(DELIVERIES.c.id)
        .where(
            DELIVERIES.c.status.in_(WAITING),
            DELIVERIES.c.due_at <= now,
            or_(DELIVERIES.c.claimed_until.is_(None), DELIVERIES.c.claimed_until <= now),
            DELIVERIES.c.channel.not_in(sorted(stopped)),
        )
        .order_by(DELIVERIES.c.status, DELIVERIES.c.due_at, DELIVERIES.c.id)
        .limit(CLAIM_BATCH)
    )
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        returned = (DELIVERIES.c.id, DELIVERIES.c.channel, DELIVERIES.c.batch_key)
        statement = (
            update(DELIVERIES)
            .where(DELIVERIES.c.id.in_(due.scalar_subquery()))
            .values(claimed_until=until)
            .returning(*returned)
        )
        claimed = [tuple(row) for row in connection.execute(statement)]
        # a multicast group is claimed whole, so that its one retry key never covers two different requests
        groups = sorted({row[2] for row in claimed if row[2]})
        if groups:
            rest = (
                update(DELIVERIES)
                .where(
                    DELIVERIES.c.batch_key.in_(groups),
                    DELIVERIES.c.status.in_(WAITING),
                    or_(DELIVERIES.c.claimed_until.is_(None), DELIVERIES.c.claimed_until <= now),
                )
                .values(claimed_until=until)
                .returning(*returned)
            )
            claimed += [tuple(row) for row in connection.execute(rest)]
        return claimed


def plan_jobs(claimed: Iterable[tuple[int, str, str | None]], batch_size: int) -> list[tuple[str, list[int]]]:
    """(channel, ids) per job: a multicast group stays whole, several to a job; other rows in batches."""
    singles: dict[str, list[int]] = {}
    groups: dict[tuple[str, str], list[int]] = {}
    for row_id, channel, batch_key in claimed:
        if batch_key:
            groups.setdefault((channel, batch_key), []).append(row_id)
        else:
            singles.setdefault(channel, []).append(row_id)
    jobs = [
        (channel, ids[start : start + batch_size])
        for channel, ids in singles.items()
        for start in range(0, len(ids), batch_size)
    ]
    packed: dict[str, list[list[int]]] = {}
    for (channel, _), ids in sorted(groups.items()):
        packed.setdefault(channel, []).append(sorted(ids))
    for channel, lists in packed.items():
        for start in range(0, len(lists), GROUPS_PER_JOB):
            jobs.append((channel, [i for ids in lists[start : start + GROUPS_PER_JOB] for i in ids]))
    return jobs


# ── stopped channels ──────────────────────────────────────────────────────────────────────────────────


def stop_channel(redis: Redis, channel: str, reason: str, seconds: int | None = None) -> None:
    """Hold every later send on `channel` (until `seconds` pass, or an operator resumes it) and alert."""
    redis.set(_STOPPED + channel, reason[:200], ex=seconds)
    log.error(
        "ALERT: delivery channel %s stopped (%s); its messages wait until it is resumed", channel, reason
    )


def resume_channel(redis: Redis, channel: str) -> bool:
    return bool(redis.delete(_STOPPED + channel))


def stopped_channels(redis: Redis) -> set[str]:
    return {key.decode().removeprefix(_STOPPED) for key in redis.scan_iter(_STOPPED + "*")}
