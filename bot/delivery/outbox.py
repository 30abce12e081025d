"""The outbox: hands due ledger rows to the send workers in batches — never one job per recipient.

`dispatch_due` (run by the tick, and right after a broadcast is confirmed) claims every row that is due —
queued, or held until a time that has come — and hands it to a send job: the row names the job (`send_job`)
and carries its claim, written in one transaction before the job is queued. A job takes its rows over only if
the claim is still the one it was given, so a row handed out twice is sent by one job.

Jobs get lost: Redis loses its data, a worker is killed between taking a job and taking its rows, a process is
killed between handing rows out and queueing their job. So every dispatch first asks RQ about the jobs rows
were handed to (`bot.jobs.queues.lost_send_jobs`) and hands the rows of a lost one out again at once. That is safe
whatever RQ says: a job only sends rows it took over under its own claim, so one that turns up after all
finds nothing left to take. A queued job RQ still holds keeps its rows (DISPATCH_CLAIM is only a backstop).

Rows a job has taken over are never handed out on RQ's word, only once their claim (`SEND_CLAIM_SECONDS`) has
passed: RQ stops a job at that time-out, so a slow job never sends a row that another job sends too. A worker
killed mid-batch leaves its rows claimed until then; LINE's retry key turns the repeated push into a 409.

Channels can be stopped (LINE's monthly quota is spent, an SMS account is suspended): their rows wait, queued,
until an operator resumes the channel or, for LINE's quota, the month turns.
"""

from __future__ import annotations

import base64
import logging
import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from redis import Redis
from sqlalchemy import Connection, Engine, insert, or_, select, update

from bot.jobs.queues import ANSWERS as ANSWERS_QUEUE
from bot.jobs.queues import DISPATCH_CLAIM, HANDOFF_GRACE, enqueue_send, lost_send_jobs, new_send_job_id
from bot.jobs.queues import SENDS as SENDS_QUEUE
from bot.platform.bulk import among
from bot.platform.config import Settings
from flows.dsl import Channel, Purpose
from models import SENDABLE, Delivery, DeliveryStatus

log = logging.getLogger(__name__)
DELIVERIES = Delivery.__table__
CLAIM_BATCH = 5_000
GROUPS_PER_JOB = 10  # multicast groups (≤ 500 recipients each) per send job
_STOPPED = "delivery:stopped:"


def new_token() -> str:
    """The public token of a ledger row's links (/r/, /o/, /u/): 96 random bits, 16 characters."""
    return secrets.token_urlsafe(12)


def new_tokens(count: int) -> list[str]:
    """`count` tokens as `new_token` makes them, from one read of the system's random source instead of one
    each: 12 random bytes are exactly 16 URL-safe base64 characters, so the encoding splits where the bytes do."""
    encoded = base64.urlsafe_b64encode(secrets.token_bytes(12 * count)).decode()
    return [encoded[start : start + 16] for start in range(0, 16 * count, 16)]


def claim_token(moment: datetime) -> str:
    return moment.isoformat()


def dispatch_due(engine: Engine, redis: Redis, settings: Settings, now: datetime) -> int:
    """Hand the rows of lost send jobs back, then claim every due row of every running channel and queue its
    send jobs; returns the rows handed out."""
    stopped = stopped_channels(redis)
    release_lost(engine, redis, now)
    handed = 0
    while True:
        until = now + DISPATCH_CLAIM
        with engine.begin() as connection:
            claimed = _claim_rows(connection, now, until, stopped)
            jobs = _hand_to_jobs(connection, plan_jobs(claimed, settings.send_batch_size), until)
        for job_id, channel, ids in jobs:
            enqueue_send(redis, settings, SENDS_QUEUE, job_id, channel, ids, claim_token(until))
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
                DELIVERIES.c.status.in_(SENDABLE),
                or_(DELIVERIES.c.claimed_until.is_(None), DELIVERIES.c.claimed_until <= now),
            )
            .values(claimed_until=until)
            .returning(DELIVERIES.c.id, DELIVERIES.c.channel)
        ).all()
        by_channel: dict[str, list[int]] = {}
        for row_id, channel in claimed:
            by_channel.setdefault(channel, []).append(row_id)
        jobs = _hand_to_jobs(connection, [(c, sorted(row_ids)) for c, row_ids in by_channel.items()], until)
    for job_id, channel, row_ids in jobs:
        enqueue_send(redis, settings, ANSWERS_QUEUE, job_id, channel, row_ids, claim_token(until))
    return len(claimed)


def release_lost(engine: Engine, redis: Redis, now: datetime) -> int:
    """Rows handed to a send job that will never take them (see `lost_send_jobs`), handed at least
    HANDOFF_GRACE ago: unclaimed, so that this dispatch hands them out again. Returns the rows released."""
    # a row handed out is claimed until handed + DISPATCH_CLAIM
    handed_before = now - HANDOFF_GRACE + DISPATCH_CLAIM
    with engine.connect() as connection:
        job_ids = (
            connection.execute(
                select(DELIVERIES.c.send_job)
                .where(DELIVERIES.c.send_job.is_not(None), DELIVERIES.c.claimed_until <= handed_before)
                .distinct()
            )
            .scalars()
            .all()
        )
    lost = sorted(lost_send_jobs(redis, job_ids, now))
    if not lost:
        return 0
    with engine.begin() as connection:
        released = connection.execute(
            update(DELIVERIES)
            .where(among(connection, DELIVERIES.c.send_job, lost))
            .values(claimed_until=None, send_job=None)
        ).rowcount
    log.warning("handing out again %s deliveries of %s lost send jobs", released, len(lost))
    return released


def _claim(
    engine: Engine, now: datetime, until: datetime, stopped: set[str]
) -> list[tuple[int, str, str | None]]:
    """Claim the due rows until `until` without handing them to a job (for callers that run the send
    themselves)."""
    with engine.begin() as connection:
        return _claim_rows(connection, now, until, stopped)


def _claim_rows(
    connection: Connection, now: datetime, until: datetime, stopped: set[str]
) -> list[tuple[int, str, str | None]]:
    due = (
        select(DELIVERIES.c.id)
        .where(
            DELIVERIES.c.status.in_(SENDABLE),
            DELIVERIES.c.due_at <= now,
            or_(DELIVERIES.c.claimed_until.is_(None), DELIVERIES.c.claimed_until <= now),
            DELIVERIES.c.channel.not_in(sorted(stopped)),
        )
        .order_by(DELIVERIES.c.status, DELIVERIES.c.due_at, DELIVERIES.c.id)
        .limit(CLAIM_BATCH)
    )
    if connection.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    returned = (DELIVERIES.c.id, DELIVERIES.c.channel, DELIVERIES.c.batch_key)
    statement = (
        update(DELIVERIES)
        .where(DELIVERIES.c.id.in_(due.scalar_subquery()))
        .values(claimed_until=until, send_job=None)
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
                DELIVERIES.c.status.in_(SENDABLE),
                or_(DELIVERIES.c.claimed_until.is_(None), DELIVERIES.c.claimed_until <= now),
            )
            .values(claimed_until=until, send_job=None)
            .returning(*returned)
        )
        claimed += [tuple(row) for row in connection.execute(rest)]
    return claimed


def _hand_to_jobs(
    connection: Connection, planned: list[tuple[str, list[int]]], until: datetime
) -> list[tuple[str, str, list[int]]]:
    """Name each planned job on its rows, in the claim's transaction: a job lost before it took them (even
    before it was queued) is then found by `release_lost`. Returns (job id, channel, ids) per job."""
    jobs = []
    for channel, ids in planned:
        job_id = new_send_job_id()
        connection.execute(
            update(DELIVERIES)
            .where(among(connection, DELIVERIES.c.id, ids), DELIVERIES.c.claimed_until == until)
            .values(send_job=job_id)
        )
        jobs.append((job_id, channel, ids))
    return jobs


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


def queue_message(
    connection: Connection,
    customer_id: int,
    template: str,
    step: str,
    now: datetime,
    purpose: Purpose = Purpose.TRANSACTIONAL,
    reply_token: str | None = None,
    reply_by: datetime | None = None,
    channel: Channel = Channel.LINE,
    **fields: Any,
) -> int:
    """A message to the customer as a ledger row, on LINE by reply while `reply_token` lasts, else by push (a
    coupon issued by staff, a request's new status, a referral's thanks), or on `channel` (the ID連携 login's
    one-time code by SMS or email). Its ledger id."""
    row = {
        "customer_id": customer_id,
        "step": step,
        "template": template,
        "channel": str(channel),
        "purpose": str(purpose),
        "status": DeliveryStatus.QUEUED,
        "due_at": now,
        "attempts": 0,
        "token": new_token(),
        "reply_token": reply_token,
        "reply_by": reply_by,
        "fields": {name: _plain(value) for name, value in fields.items()} or None,
        "created_at": now,
        "updated_at": now,
    }
    return connection.execute(insert(DELIVERIES).values(row).returning(DELIVERIES.c.id)).scalar_one()


def _plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


def send_held_marketing(connection: Connection, customer_id: int, now: datetime) -> int:
    """The customer's marketing a hand-over held (`in_handover`), due now: their hand-over is over, and each
    message is sent once, by the next dispatch. Returns the rows."""
    return connection.execute(
        update(DELIVERIES)
        .where(
            DELIVERIES.c.customer_id == customer_id,
            DELIVERIES.c.status == DeliveryStatus.HELD,
            DELIVERIES.c.error == "in_handover",
            or_(DELIVERIES.c.claimed_until.is_(None), DELIVERIES.c.claimed_until <= now),
        )
        .values(due_at=now, updated_at=now)
    ).rowcount
