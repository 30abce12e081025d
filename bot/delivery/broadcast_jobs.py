"""The worker side of a broadcast (一斉配信) prepared in the admin chat: count it (the dry run), start it once
confirmed, and tell the chat that prepared it how far it has gone.

The recipients are the segment's customers (the staff's `fact=value` filters) whom the channel ladder reaches
under the send path's rules (an address; for marketing the channel's permission; LINE not blocked), less, for
marketing, those over the frequency cap at the send moment. Confirming computes the list again under the same
rules: what goes out is what the rules allow when staff press 送信する, never a list frozen at the dry run (who
unsubscribed in between gets nothing). Quiet hours exclude nobody: they hold marketing until morning. The dry
run is posted once (a guarded UPDATE stores its figures); each progress step and the result once (SET NX).
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry
from sqlalchemy import Connection, Engine, func, select, update

from bot.delivery.broadcast_plan import figures, plan
from bot.delivery.broadcasts import queue_broadcast
from bot.delivery.notices import STAFF_LOCALE, enqueue_notices, record_admin_notice
from bot.delivery.outbox import dispatch_due
from bot.jobs.queues import MAINTENANCE
from bot.platform.config import Settings
from bot.platform.i18n import text
from bot.platform.runtime import current
from flows.dsl import Channel
from flows.engine import TOKYO
from models import (
    SENT_OR_DELIVERED,
    UNSETTLED,
    Broadcast,
    BroadcastStatus,
    Delivery,
    utcnow,
)

log = logging.getLogger(__name__)
BROADCASTS = Broadcast.__table__
DELIVERIES = Delivery.__table__
ONE_PER_CUSTOMER = ("customer", "contract", "channel", "activity")  # joined; other records: EXISTS
SHARED_TOKEN = "0" * 22  # as long as a broadcast row's token: the SMS estimate counts its links' characters
MILESTONES = (25, 50, 75)
WATCH_EVERY = timedelta(seconds=30)
REPORTED_FOR = 30 * 24 * 3600  # how long Redis remembers which progress steps were posted
RETRY = Retry(max=3, interval=[10, 60, 300])


# ── telling the admin chat ───────────────────────────────────────────────────────────────────────────────


def notify_admin(engine: Engine, redis: Redis, target: str, template: str, **fields: Any) -> int:
    """Tell the admin chat `target` `messages.<template>` by push, from a job."""
    with engine.begin() as connection:
        notice_id = record_admin_notice(connection, target, template, utcnow(), **fields)
    enqueue_notices(redis, [notice_id])
    return notice_id


# ── the jobs ────────────────────────────────────────────────────────────────────────────────────────────


def enqueue(redis: Redis, job: str, broadcast_id: int, at: datetime | None = None) -> None:
    """Queue `job` (count, start or watch) for a broadcast; `at` for later (the worker's scheduler)."""
    queue, name = Queue(MAINTENANCE, connection=redis), f"bot.delivery.broadcast_jobs.{job}_broadcast"
    options = {"retry": RETRY, "result_ttl": 600, "failure_ttl": 7 * 24 * 3600}
    try:
        if at is None:
            queue.enqueue(name, broadcast_id, **options)
        else:
            queue.enqueue_at(at, name, broadcast_id, **options)
    except RedisError:  # the draft or confirmation is committed: alert, so that the job is queued again
        log.error("ALERT: broadcast %s: %s job not queued (Redis)", broadcast_id, job)


def count_broadcast(broadcast_id: int) -> str:
    """RQ job: count a draft, store the figures on it and post the dry run with its 送信する button (once)."""
    runtime, now = current(), utcnow()
    with runtime.engine.begin() as connection:
        broadcast = _load(connection, broadcast_id)
        if broadcast is None or broadcast.status != BroadcastStatus.DRAFT or broadcast.counts is not None:
            return "skipped"
        found = plan(connection, runtime.settings, broadcast, broadcast.send_at or now)
        counts = figures(connection, runtime.settings, broadcast, found, now)
        stored = connection.execute(
            update(BROADCASTS)
            .where(BROADCASTS.c.id == broadcast_id, BROADCASTS.c.counts.is_(None))
            .values(counts=counts, updated_at=now)
        ).rowcount
        if not stored:  # another run of this job counted it first
            return "skipped"
        fields = dry_run_fields(broadcast, counts, runtime.settings)
        notice = record_admin_notice(
            connection, broadcast.prepared_in, "admin_broadcast.dry_run", now, **fields
        )
    enqueue_notices(runtime.redis, [notice])
    log.info("broadcast %s counted: %s recipients", broadcast_id, counts["recipients"])
    return "counted"


def start_broadcast(broadcast_id: int) -> str:
    """RQ job: write a confirmed broadcast's ledger rows (once: a second run finds them), hand out what is due
    now, and watch its progress."""
    runtime, now = current(), utcnow()
    with runtime.engine.begin() as connection:
        # touching the row locks it: a /cancel, or another run of this job, waits for this transaction
        touched = connection.execute(
            update(BROADCASTS)
            .where(BROADCASTS.c.id == broadcast_id, BROADCASTS.c.status == BroadcastStatus.QUEUED)
            .values(updated_at=now)
        ).rowcount
        if not touched:  # cancelled before it started
            return "skipped"
        broadcast = _load(connection, broadcast_id)
        written = 0
        if connection.execute(
            select(DELIVERIES.c.id).where(DELIVERIES.c.broadcast_id == broadcast_id)
        ).first():
            log.info("broadcast %s: rows written already", broadcast_id)
        else:
            found = plan(connection, runtime.settings, broadcast, broadcast.send_at or now)
            written = queue_broadcast(connection, broadcast, now, sorted(found.recipients))
    due = broadcast.send_at or now
    if due <= now:  # a moment after the rows' own: queue_broadcast's SQLite stamps compare as text
        dispatch_due(runtime.engine, runtime.redis, runtime.settings, utcnow())
    enqueue(runtime.redis, "watch", broadcast_id, due if due > now else None)
    log.info("broadcast %s started: %s rows", broadcast_id, written)
    return "started"


def watch_broadcast(broadcast_id: int) -> str:
    """RQ job: post the progress reached; again in WATCH_EVERY until no row of the broadcast waits."""
    runtime = current()
    if report_progress(runtime.engine, runtime.redis, broadcast_id):
        return "over"
    enqueue(runtime.redis, "watch", broadcast_id, utcnow() + WATCH_EVERY)
    return "watching"


def report_progress(engine: Engine, redis: Redis, broadcast_id: int) -> bool:
    """Post the highest progress step newly reached, or, once no row waits, the final result (sent, failed by
    reason); each once, whoever asks how many times. True when the broadcast is over."""
    with engine.begin() as connection:
        broadcast = _load(connection, broadcast_id)
        if broadcast is None or broadcast.status == BroadcastStatus.DRAFT:
            return True
        tally = connection.execute(
            select(DELIVERIES.c.status, DELIVERIES.c.error, func.count())
            .where(DELIVERIES.c.broadcast_id == broadcast_id)
            .group_by(DELIVERIES.c.status, DELIVERIES.c.error)
        ).all()
        total = sum(n for *_, n in tally)
        waiting = sum(n for status, _, n in tally if status in UNSETTLED)
        if not waiting and broadcast.status == BroadcastStatus.QUEUED:
            connection.execute(
                update(BROADCASTS)
                .where(BROADCASTS.c.id == broadcast_id, BROADCASTS.c.status == BroadcastStatus.QUEUED)
                .values(status=BroadcastStatus.DONE, updated_at=utcnow())
            )
    target = broadcast.prepared_in
    if waiting:
        done = total - waiting
        reached = [
            step for step in MILESTONES if done * 100 >= step * total and _first(redis, broadcast_id, step)
        ]
        if reached:
            step = {"percent": max(reached), "progress_done": done, "progress_total": total}
            notify_admin(engine, redis, target, "admin_broadcast.progress", number=broadcast_id, **step)
        return False
    if _first(redis, broadcast_id, "final"):
        notify_admin(engine, redis, target, "admin_broadcast.finished", **result_fields(broadcast, tally))
    return True


def _first(redis: Redis, broadcast_id: int, step: object) -> bool:
    return bool(redis.set(f"broadcast:{broadcast_id}:reported:{step}", 1, nx=True, ex=REPORTED_FOR))


def _load(connection: Connection, broadcast_id: int) -> Any:
    return connection.execute(select(BROADCASTS).where(BROADCASTS.c.id == broadcast_id)).first()


# ── what the chat reads ─────────────────────────────────────────────────────────────────────────────────


def label(key: str, **fields: Any) -> str:
    return text(f"messages.admin_broadcast.labels.{key}", STAFF_LOCALE, **fields)


def moment_label(send_at: datetime | None) -> str:
    return send_at.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M") if send_at else label("now")


def dry_run_fields(broadcast: Any, counts: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """The dry run's merge fields: every channel and every reason named, with 0 where none."""
    threshold, yen = settings.broadcast_approval_threshold, counts["sms_yen"]
    filters = ", ".join(
        f"{f}={str(v).lower() if isinstance(v, bool) else v}" for f, v in broadcast.filters.items()
    )
    return {
        "number": broadcast.id,
        "template_name": broadcast.template,
        "segment": filters or label("everyone"),
        "ladder": f"{broadcast.channels} ({broadcast.purpose})",
        "send_time": moment_label(broadcast.send_at),
        "approval": label("approval", threshold=threshold) if counts["recipients"] > threshold else "",
        "line_requests": label(
            "multicast" if counts["line_multicast"] else "pushes", n=counts["line_requests"]
        ),
        "sms_yen": label("yen", yen=f"{yen:,.0f}") if yen is not None else label("unpriced"),
        **{f"to_{channel}": counts["channels"].get(str(channel), 0) for channel in Channel},
        **{f"out_{reason}": counts["excluded"].get(reason, 0) for reason in EXCLUSIONS},
        **{name: counts[name] for name in SHOWN},
        "admin_broadcast_confirm_value": broadcast.id,
        "admin_broadcast_drop_value": broadcast.id,
    }


EXCLUSIONS = ("no_address", "no_consent", "blocked", "capped")
SHOWN = ("recipients", "held_quiet_hours", "line_messages", "sms_messages", "sms_segments", "sms_too_long")


def result_fields(broadcast: Any, tally: list[Any]) -> dict[str, Any]:
    failed: Counter[str] = Counter()
    for status, error, n in tally:
        if status not in SENT_OR_DELIVERED:
            failed[(error or "failed").removeprefix("not_sent: ")] += n
    return {
        "number": broadcast.id,
        "outcome": label("stopped" if broadcast.status == BroadcastStatus.CANCELLED else "completed"),
        "sent_count": sum(n for status, _, n in tally if status in SENT_OR_DELIVERED),
        "failed_count": sum(failed.values()),
        "failure_reasons": label("separator").join(f"{_reason(r)} {n}" for r, n in failed.most_common())
        or label("none"),
    }


def _reason(error: str) -> str:
    try:
        return label(f"reasons.{error}")
    except KeyError:  # a provider's own words
        return error
