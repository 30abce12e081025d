"""Retention: what people wrote in the chat is kept RETENTION_DAYS (90 by default), then loses its text.

Run by the worker's tick in bounded batches (each its own short transaction), oldest first, over partial indexes
of the rows that still hold text: webhook payloads (reduced to what happened and when), the merge values of the
bot's chat answers (an address read back, a reference), the fields of staff notices (what the customer filled
in), dialogs left idle since then, and the events posted to the insurer's systems (deleted). Events still
waiting to be processed and messages still waiting to be sent keep theirs.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, delete, null, select, update

from bot.privacy.redaction import skeleton
from models import (
    UNSETTLED,
    Delivery,
    Dialog,
    EventStatus,
    HandoverMessage,
    NoticeStatus,
    OutboundEvent,
    OutboundStatus,
    StaffNotice,
    WebhookEvent,
)

log = logging.getLogger(__name__)
BATCH = 500  # rows per table per tick: a tick stays short however much has piled up
EVENTS, DELIVERIES = WebhookEvent.__table__, Delivery.__table__
NOTICES, DIALOGS = StaffNotice.__table__, Dialog.__table__
HANDOVER_MESSAGES = HandoverMessage.__table__
OUTBOUND = OutboundEvent.__table__


def forget_old_texts(engine: Engine, days: int, now: datetime, batch: int = BATCH) -> dict[str, int]:
    """One bounded pass: per kind of text, at most `batch` rows older than `days` lose it."""
    cutoff = now - timedelta(days=days)
    done = {}
    for name, step in STEPS.items():
        with engine.begin() as connection:
            done[name] = step(connection, cutoff, now, batch)
    if any(done.values()):
        log.info("retention: %s", ", ".join(f"{name} {n}" for name, n in done.items()))
    return done


def _payloads(connection: Connection, cutoff: datetime, now: datetime, batch: int) -> int:
    rows = connection.execute(
        select(EVENTS.c.id, EVENTS.c.payload)
        .where(
            EVENTS.c.redacted_at.is_(None),
            EVENTS.c.received_at < cutoff,
            EVENTS.c.status != EventStatus.RECEIVED,
        )
        .order_by(EVENTS.c.received_at)
        .limit(batch)
    ).all()
    for row in rows:
        connection.execute(
            update(EVENTS).where(EVENTS.c.id == row.id).values(payload=skeleton(row.payload), redacted_at=now)
        )
    return len(rows)


def _answers(connection: Connection, cutoff: datetime, now: datetime, batch: int) -> int:
    chosen = (
        select(DELIVERIES.c.id)
        .where(
            DELIVERIES.c.fields.is_not(None),
            DELIVERIES.c.created_at < cutoff,
            DELIVERIES.c.status.not_in(UNSETTLED),
        )
        .order_by(DELIVERIES.c.created_at)
        .limit(batch)
    )
    ids = list(connection.execute(chosen).scalars())
    if ids:  # SQL NULL (not JSON's null): the row leaves the partial index
        connection.execute(update(DELIVERIES).where(DELIVERIES.c.id.in_(ids)).values(fields=null()))
    return len(ids)


def _notices(connection: Connection, cutoff: datetime, now: datetime, batch: int) -> int:
    chosen = (
        select(NOTICES.c.id)
        .where(
            NOTICES.c.fields.is_not(None),
            NOTICES.c.created_at < cutoff,
            NOTICES.c.status != NoticeStatus.QUEUED,
        )
        .order_by(NOTICES.c.created_at)
        .limit(batch)
    )
    ids = list(connection.execute(chosen).scalars())
    if ids:
        connection.execute(update(NOTICES).where(NOTICES.c.id.in_(ids)).values(fields=null()))
    return len(ids)


def _dialogs(connection: Connection, cutoff: datetime, now: datetime, batch: int) -> int:
    chosen = select(DIALOGS.c.line_user_id).where(DIALOGS.c.updated_at < cutoff).limit(batch)
    users = list(connection.execute(chosen).scalars())
    if users:
        connection.execute(delete(DIALOGS).where(DIALOGS.c.line_user_id.in_(users)))
    return len(users)


def _handover_texts(connection: Connection, cutoff: datetime, now: datetime, batch: int) -> int:
    """What the customer and staff wrote in a hand-over; the row (who, when, which LINE message) stays."""
    chosen = (
        select(HANDOVER_MESSAGES.c.id)
        .where(HANDOVER_MESSAGES.c.text.is_not(None), HANDOVER_MESSAGES.c.created_at < cutoff)
        .order_by(HANDOVER_MESSAGES.c.created_at)
        .limit(batch)
    )
    ids = list(connection.execute(chosen).scalars())
    if ids:
        connection.execute(
            update(HANDOVER_MESSAGES).where(HANDOVER_MESSAGES.c.id.in_(ids)).values(text=null())
        )
    return len(ids)


def _outbound(connection: Connection, cutoff: datetime, now: datetime, batch: int) -> int:
    """Events for the insurer's systems that were delivered (or given up) before the cutoff: they carry what the
    customer gave (a request's details), so they go, row and all. Those still waiting keep theirs."""
    ids = list(
        connection.execute(
            select(OUTBOUND.c.id)
            .where(OUTBOUND.c.status != OutboundStatus.QUEUED, OUTBOUND.c.created_at < cutoff)
            .order_by(OUTBOUND.c.created_at)
            .limit(batch)
        ).scalars()
    )
    if ids:
        connection.execute(delete(OUTBOUND).where(OUTBOUND.c.id.in_(ids)))
    return len(ids)


STEPS = {
    "webhook_payloads": _payloads,
    "chat_answers": _answers,
    "staff_notices": _notices,
    "dialogs": _dialogs,
    "handover_texts": _handover_texts,
    "outbound_events": _outbound,
}
