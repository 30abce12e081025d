"""The service desk's staff side (担当者): notices of requests and hand-offs pushed to the staff's LINE, and the
`flask requests` commands with which staff move a request along (受付済み → 対応中 → 完了), the customer told
in the chat each time.

A notice is a row per staff target (STAFF_LINE_TARGETS), written in the same transaction as the request that
prompted it and sent right after that commits, by an RQ job. The job sends the way the ledger's send jobs do, with
the same functions: by reply while the row's reply token is fresh (an answer in the admin chat), else by push
under a retry key derived from the row, never later than that key lasts (bot/delivery/windows.py). So a job run
twice never notifies staff twice. With no target configured, notices are recorded only.
Notices name the customer by their ids, never by name: staff look the customer up where access is logged.
"""

from __future__ import annotations

import logging
import unicodedata
from datetime import datetime, timedelta
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from sqlalchemy import Connection, Engine, event, insert, select, update
from sqlmodel import Session

from bot.delivery.channels.line import NOTICE_KEYS, LineMessage, LinePusher, retry_key
from bot.delivery.channels.result import Outcome, SendResult
from bot.delivery.content import Links, Template, line_messages
from bot.delivery.outbox import queue_message
from bot.delivery.windows import RETRY_WINDOW, fresh_reply_token, reply_until, retry_window_passed
from bot.inbound.context import Ctx
from bot.jobs.queues import ANSWERS, NOTICE_ATTEMPTS, NOTICE_RETRY, SEND_FAILURE_TTL, SEND_RESULT_TTL
from bot.platform.config import Settings
from bot.platform.i18n import text
from bot.platform.runtime import current
from models import (
    Customer,
    NoticeStatus,
    RequestStatus,
    ServiceRequest,
    StaffNotice,
    utcnow,
)

log = logging.getLogger(__name__)
NOTICES = StaffNotice.__table__
STALE_AFTER = timedelta(minutes=2)
REQUESTS = ServiceRequest.__table__
STAFF_LOCALE = "ja"  # the insurer's staff read Japanese, whatever language the customers are answered in
_PENDING = "staff_notices_after_commit"
STATUS_ORDER = (RequestStatus.RECEIVED, RequestStatus.IN_PROGRESS, RequestStatus.CLOSED)


def notify_staff(
    ctx: Ctx, kind: str, customer_id: int, template: str, repeat_after: timedelta | None = None, **fields: Any
) -> list[int]:
    """Record notice `messages.<template>` for every staff target, in the handler's transaction; it is pushed
    right after that commits (never if it rolls back). With `repeat_after`, a notice of this kind about this
    customer is not repeated sooner (a customer tapping 「担当者と話す」 three times is one notice)."""
    connection = ctx.session.connection()
    if repeat_after is not None and _notified_since(connection, kind, customer_id, ctx.now - repeat_after):
        return []
    fields = {"customer_ref": customer_ref(connection, customer_id), **fields}
    targets: list[str | None] = list(ctx.settings.staff_line_targets) or [None]
    status = NoticeStatus.QUEUED if targets[0] else NoticeStatus.UNADDRESSED
    row = {"kind": kind, "customer_id": customer_id, "template": template, "fields": fields, "status": status}
    rows = [{**row, "target": target, "attempts": 0, "created_at": ctx.now} for target in targets]
    ids = list(connection.execute(insert(NOTICES).returning(NOTICES.c.id), rows).scalars())
    log.info("event row=%s staff notice %s for customer=%s: %s", ctx.event_row_id, kind, customer_id, status)
    if status is NoticeStatus.QUEUED:
        _send_after_commit(ctx.session, ids)
    return ids


def reply_staff(ctx: Ctx, target: str, reply_token: str | None, template: str, **fields: Any) -> int:
    """Answer a staff command in the admin chat (`target` is the group, or the staff member in 1:1): by reply
    while LINE's token is fresh, else by push; written in the handler's transaction, sent after it commits."""
    reply_by = reply_until(reply_token, ctx.occurred_at or ctx.now)
    connection = ctx.session.connection()
    notice_id = record_admin_notice(
        connection, target, template, ctx.now, reply_token=reply_token, reply_by=reply_by, **fields
    )
    _send_after_commit(ctx.session, [notice_id])
    return notice_id


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


def _notified_since(connection: Connection, kind: str, customer_id: int, since: datetime) -> bool:
    statement = select(NOTICES.c.id).where(
        NOTICES.c.customer_id == customer_id, NOTICES.c.kind == kind, NOTICES.c.created_at >= since
    )
    return connection.execute(statement.limit(1)).first() is not None


def customer_ref(connection: Connection, customer_id: int) -> str:
    """How staff find the customer: the insurer's 顧客ID when known, and our own id."""
    person = connection.execute(
        select(Customer.customer_code, Customer.erased_at).where(Customer.id == customer_id)
    ).first()
    code = person.customer_code if person else None
    key = (
        "customer_known"
        if code
        else "customer_erased"
        if person and person.erased_at
        else "customer_prospect"
    )
    return text(f"messages.chat_desk.labels.{key}", STAFF_LOCALE, code=code or "", id=customer_id)


def request_reference(typed: str) -> str:
    """A 受付番号 as stored, however staff typed it (case and full-width ignored)."""
    return unicodedata.normalize("NFKC", typed).strip().upper()


def change_request(
    connection: Connection, settings: Settings, reference: str, status: RequestStatus, now: datetime
) -> tuple[Any | None, int | None]:
    """Move the request on to `status` (never back) and queue the customer's chat message: (the request as it
    was, the message's ledger id). The id is None when the request is there already; the row, when there is no
    such request. Used by `flask requests` and the admin chat's /request."""
    row = connection.execute(
        select(REQUESTS).where(REQUESTS.c.reference == request_reference(reference))
    ).first()
    if row is None or STATUS_ORDER.index(RequestStatus(row.status)) >= STATUS_ORDER.index(status):
        return row, None
    closed = {"closed_at": now} if status is RequestStatus.CLOSED else {}
    moved = connection.execute(
        update(REQUESTS)
        .where(REQUESTS.c.id == row.id, REQUESTS.c.status == row.status)  # two staff at once: one message
        .values(status=status, updated_at=now, **closed)
    ).rowcount
    return row, tell_customer(connection, settings, row, status, now) if moved else None


def tell_customer(connection: Connection, settings: Settings, row: Any, status: str, now: datetime) -> int:
    """A chat message by push (no reply token: the customer is not waiting), through the delivery ledger."""
    locale = settings.default_locale
    fields = {
        "reference": row.reference,
        "request_kind": request_label("kinds", row.kind, locale),
        "request_status": request_label("statuses", status, locale),
    }
    step = f"request:{row.id}:{status}"
    return queue_message(connection, row.customer_id, "chat_desk.status_changed", step, now, **fields)


def request_label(group: str, name: str, locale: str = STAFF_LOCALE) -> str:
    """A request's kind or status in words (`kinds`, `statuses` of chat_desk)."""
    return text(f"messages.chat_desk.{group}.{name}", locale)


def _send_after_commit(session: Session, ids: list[int]) -> None:
    pending = session.info.get(_PENDING)
    if pending is None:
        session.info[_PENDING] = pending = []
        event.listen(session, "after_commit", _enqueue_pending, once=True)
        event.listen(session, "after_rollback", _forget_pending, once=True)
    pending.extend(ids)


def _enqueue_pending(session: Session) -> None:
    ids = session.info.pop(_PENDING, [])
    if not ids:
        return
    try:
        redis = current().redis
    except RuntimeError:  # not in a worker (a script): the rows wait for `flask requests notices --resend`
        log.warning("staff notices %s recorded outside a worker; not queued", ids)
        return
    enqueue_notices(redis, ids)


def _forget_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


def enqueue_notices(redis: Redis, ids: list[int]) -> None:
    """Queue the send job (a lost enqueue leaves the rows queued: `flask requests notices --resend`)."""
    try:
        Queue(ANSWERS, connection=redis).enqueue(
            "bot.staff.desk.send_staff_notices",
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
