"""Notices to the insurer's staff on LINE: a row per staff target (STAFF_LINE_TARGETS) or admin-chat
conversation, written in the transaction of whatever prompted it and sent right after that commits, by an RQ job.
The job sends the way the ledger's send jobs do, with the same functions: by reply while the row's reply token is
fresh (an answer in the admin chat), else by push under a retry key derived from the row, never later than that
key lasts (bot/delivery/windows.py). So a job run twice never notifies staff twice. They are not ledger rows: they
go to staff, not to a customer, and no customer's consent or reachability applies. With no target configured,
notices are recorded only. Notices name customers by their ids, never by name.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from sqlalchemy import Connection, Engine, insert, select, update
from sqlmodel import Session

from bot.delivery.channels.line import NOTICE_KEYS, LineMessage, LinePusher, retry_key
from bot.delivery.channels.result import Outcome, SendResult
from bot.delivery.content import Links, Template, line_messages
from bot.delivery.windows import RETRY_WINDOW, fresh_reply_token, retry_window_passed
from bot.jobs.queues import ANSWERS, NOTICE_ATTEMPTS, NOTICE_RETRY, SEND_FAILURE_TTL, SEND_RESULT_TTL
from bot.platform.after_commit import after_commit
from bot.platform.config import Settings
from bot.platform.i18n import text
from bot.platform.runtime import current
from models import NoticeStatus, StaffNotice, utcnow

log = logging.getLogger(__name__)
NOTICES = StaffNotice.__table__
STALE_AFTER = timedelta(minutes=2)
STAFF_LOCALE = "ja"  # the insurer's staff read Japanese, whatever language the customers are answered in
_PENDING = "staff_notices_after_commit"


def record_admin_notice(
    connection: Connection,
    target: str,
    template: str,
    now: datetime,
    reply_token: str | None = None,
    reply_by: datetime | None = None,
    **fields: Any,
) -> int:
    """A message to the admin chat `target` (a group, or a staff member 1:1), in the caller's transaction: by
    reply with `reply_token` until `reply_by`, else by push."""
    row = {
        "kind": "admin",
        "customer_id": None,
        "target": target,
        "template": template,
        "fields": {k: v if isinstance(v, int | float | bool) else str(v) for k, v in fields.items()},
        "status": NoticeStatus.QUEUED,
        "attempts": 0,
        "created_at": now,
        "reply_token": reply_token,
        "reply_by": reply_by,
    }
    return connection.execute(insert(NOTICES).values(row).returning(NOTICES.c.id)).scalar_one()


def send_after_commit(session: Session, ids: list[int]) -> None:
    """Queue the notices' send job once the caller's transaction commits (outside a worker they wait for
    `flask requests notices --resend`)."""
    after_commit(session, _PENDING, ids, enqueue_notices)


def enqueue_notices(redis: Redis, ids: list[int]) -> None:
    """Queue the send job (a lost enqueue leaves the rows queued: `flask requests notices --resend`)."""
    try:
        Queue(ANSWERS, connection=redis).enqueue(
            "bot.delivery.notices.send_staff_notices",
            ids,
            retry=NOTICE_RETRY,
            result_ttl=SEND_RESULT_TTL,
            failure_ttl=SEND_FAILURE_TTL,
        )
    except RedisError:
        log.warning("staff notices %s not queued (Redis); they wait for a resend", ids)


class NoticesNotSent(Exception):
    """Some notices met a passing failure (LINE busy or unreachable): RQ runs the job again later."""


def send_staff_notices(ids: list[int]) -> dict[str, int]:
    """RQ job: push the notices `ids` that are still queued; safe to run twice."""
    runtime = current()
    counts = send_notices(runtime.engine, runtime.settings, ids)
    if counts.get("retry"):
        raise NoticesNotSent(f"{counts['retry']} staff notices to retry")
    return counts


def send_notices(engine: Engine, settings: Settings, ids: list[int]) -> dict[str, int]:
    """Send the notices `ids` still queued, as the ledger's answers go: by reply while the token is fresh, else
    by push under the notice's retry key, never past the key's 23 hours."""
    now = utcnow()
    with engine.begin() as connection:
        rows = connection.execute(
            update(NOTICES)
            .where(NOTICES.c.id.in_(ids), NOTICES.c.status == NoticeStatus.QUEUED)
            .values(attempts=NOTICES.c.attempts + 1)
            .returning(*NOTICES.c)
        ).all()
    rows = sorted(rows, key=lambda row: row.id)
    passed = ("failed", {"status": NoticeStatus.FAILED, "error": "retry window passed"})
    outcomes = {row.id: passed for row in rows if retry_window_passed(row.created_at, now)}
    ready = [row for row in rows if row.id not in outcomes]
    if ready:
        timeout = (settings.line_connect_timeout, settings.line_read_timeout)
        with LinePusher(settings.line_api_base_url, settings.line_channel_access_token, timeout) as pusher:
            results = pusher.reply_or_push([_message(settings, row, utcnow()) for row in ready])
        outcomes.update({row.id: _outcome(row, result) for row, result in zip(ready, results, strict=True)})
    counts: dict[str, int] = {}
    with engine.begin() as connection:
        for notice_id, (outcome, values) in outcomes.items():
            connection.execute(update(NOTICES).where(NOTICES.c.id == notice_id).values(**values))
            counts[outcome] = counts.get(outcome, 0) + 1
    log.info("staff notices %s: %s", ids, counts)
    return counts


def _message(settings: Settings, row: Any, now: datetime) -> LineMessage:
    template = Template(row.template, STAFF_LOCALE)
    fields = {"service_name": text("common.service_name", STAFF_LOCALE), **(row.fields or {})}
    messages = line_messages(template, fields, Links(settings.public_base_url, None), False, settings)
    key = notice_retry_key(row.id, row.created_at)
    return LineMessage(row.target, messages, key, fresh_reply_token(row, now))


def _outcome(row: Any, result: SendResult) -> tuple[str, dict[str, Any]]:
    if result.outcome is Outcome.SENT:
        return "sent", {"status": NoticeStatus.SENT, "sent_at": utcnow(), "error": None}
    reason = (result.reason or result.outcome)[:500]
    if result.outcome is Outcome.FAILED or row.attempts >= NOTICE_ATTEMPTS:
        log.error("ALERT: staff notice %s not delivered (%s)", row.id, reason)
        return "failed", {"status": NoticeStatus.FAILED, "error": reason}
    return "retry", {"error": reason}


def notice_retry_key(notice_id: int, created_at: datetime) -> str:
    """The same X-Line-Retry-Key for every attempt at one notice, in the notices' own key space."""
    return retry_key(notice_id, created_at, NOTICE_KEYS)


def requeue_stale(engine: Engine, redis: Redis, now: datetime) -> int:
    """Notices still waiting untried a while after they were written (their enqueue was lost with Redis):
    queue them again. Run by the periodic tick; a notice queued twice is pushed once (status, retry key)."""
    cutoff = now - STALE_AFTER
    with engine.connect() as connection:
        ids = list(
            connection.execute(
                select(NOTICES.c.id).where(
                    NOTICES.c.status == NoticeStatus.QUEUED,
                    NOTICES.c.attempts == 0,
                    NOTICES.c.created_at < cutoff,
                    NOTICES.c.created_at > now - RETRY_WINDOW,
                )
            ).scalars()
        )
    if ids:
        enqueue_notices(redis, ids)
    return len(ids)
