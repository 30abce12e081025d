"""The service desk's staff side (担当者): notices of requests and hand-offs pushed to the staff's LINE, and the
`flask requests` commands with which staff move a request along (受付済み → 対応中 → 完了), the customer told
in the chat each time.

A notice is written in the same transaction as the request that prompted it and sent right after that commits
(bot/delivery/notices.py). Notices name the customer by their ids, never by name: staff look the customer up
where access is logged.
"""

from __future__ import annotations

import logging
import unicodedata
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from bot.customers.language import customer_locale
from bot.delivery.notices import NOTICES, STAFF_LOCALE, record_admin_notice, send_after_commit
from bot.delivery.outbox import queue_message
from bot.delivery.windows import reply_until
from bot.inbound.context import Ctx
from bot.platform import outbound
from bot.platform.config import Settings
from bot.platform.i18n import text
from bot.scenarios.journeys import start_journeys
from flows.dsl import Event
from models import (
    Customer,
    NoticeStatus,
    RequestStatus,
    ServiceRequest,
)

log = logging.getLogger(__name__)
REQUESTS = ServiceRequest.__table__
STATUS_ORDER = (RequestStatus.RECEIVED, RequestStatus.IN_PROGRESS, RequestStatus.CLOSED)


def notify_staff(
    ctx: Ctx,
    kind: str,
    customer_id: int,
    template: str,
    repeat_after: timedelta | None = None,
    to: list[str] | None = None,
    **fields: Any,
) -> list[int]:
    """Record notice `messages.<template>` for every staff target (`to`, else STAFF_LINE_TARGETS), in the
    handler's transaction; it is pushed right after that commits (never if it rolls back). With `repeat_after`,
    a notice of this kind about this customer is not repeated sooner (a customer tapping 「担当者と話す」 three
    times is one notice)."""
    connection = ctx.session.connection()
    if repeat_after is not None and _notified_since(connection, kind, customer_id, ctx.now - repeat_after):
        return []
    fields = {"customer_ref": customer_ref(connection, customer_id), **fields}
    targets: list[str | None] = list(to or ctx.settings.staff_line_targets) or [None]
    status = NoticeStatus.QUEUED if targets[0] else NoticeStatus.UNADDRESSED
    row = {"kind": kind, "customer_id": customer_id, "template": template, "fields": fields, "status": status}
    rows = [{**row, "target": target, "attempts": 0, "created_at": ctx.now} for target in targets]
    ids = list(connection.execute(insert(NOTICES).returning(NOTICES.c.id), rows).scalars())
    log.info("event row=%s staff notice %s for customer=%s: %s", ctx.event_row_id, kind, customer_id, status)
    if status is NoticeStatus.QUEUED:
        send_after_commit(ctx.session, ids)
    return ids


def reply_staff(ctx: Ctx, target: str, reply_token: str | None, template: str, **fields: Any) -> int:
    """Answer a staff command in the admin chat (`target` is the group, or the staff member in 1:1): by reply
    while LINE's token is fresh, else by push; written in the handler's transaction, sent after it commits."""
    reply_by = reply_until(reply_token, ctx.occurred_at or ctx.now)
    connection = ctx.session.connection()
    notice_id = record_admin_notice(
        connection, target, template, ctx.now, reply_token=reply_token, reply_by=reply_by, **fields
    )
    send_after_commit(ctx.session, [notice_id])
    return notice_id


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
    such request. Closing it starts the journeys a closed request starts, in the same transaction. Used by
    `flask requests` and the admin chat's /request."""
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
    if moved:
        request_event(connection, settings, row.id, "request.updated", now)
    if (
        moved and status is RequestStatus.CLOSED
    ):  # the journeys a closed request starts (a satisfaction survey …)
        start_journeys(connection, settings, Event.REQUEST_CLOSED, row.customer_id, now)
    return row, tell_customer(connection, settings, row, status, now) if moved else None


def request_event(
    connection: Connection, settings: Settings, request_id: int, event_type: str, now: datetime
) -> None:
    """Tell the insurer's systems (outbound webhooks) about the request as it now stands, with what the customer
    gave for it."""
    row = connection.execute(select(REQUESTS).where(REQUESTS.c.id == request_id)).one()
    data = {
        "reference": row.reference,
        "kind": row.kind,
        "status": row.status,
        "verified": row.verified,
        "details": row.details,
        "created_at": row.created_at.isoformat(),
        "closed_at": row.closed_at.isoformat() if row.closed_at else None,
    }
    outbound.record(connection, settings, event_type, data, now, row.customer_id)


def tell_customer(connection: Connection, settings: Settings, row: Any, status: str, now: datetime) -> int:
    """A chat message by push (no reply token: the customer is not waiting), through the delivery ledger."""
    locale = customer_locale(connection, row.customer_id, settings.default_locale)
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
