"""What the staff inbox (/inbox) shows: the hand-overs waiting or in progress, and one conversation's whole
history — the customer's messages (texts, and photos or files by LINE's message id), the bot's answers and the
staff's replies — in order. Opening a conversation and revealing the customer's card are personal-data accesses,
audited (admin_audit, place `inbox`, the customer named by internal id).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from bot.delivery.content import Template
from bot.platform.bulk import select_map
from bot.platform.i18n import text
from bot.staff.admin import about, audit
from bot.staff.desk import customer_ref
from bot.staff.handovers import HANDOVERS, MESSAGES, find_handover, open_handovers
from flows.dsl import Channel
from models import Attachment, AttachmentStatus, Delivery

DELIVERIES = Delivery.__table__
ATTACHMENTS = Attachment.__table__
PLACE = "inbox"
BEFORE = timedelta(
    minutes=10
)  # the bot's answers just before the hand-over (what the customer asked) show too


@dataclass(frozen=True)
class Entry:
    """One message of the history: when, whose (customer, bot, staff), its kind and text, LINE's message id."""

    at: datetime
    author: str
    kind: str
    text: str | None
    line_message_id: str | None = None
    staff: str | None = None
    attachment_id: int | None = None  # the photo, video or file as stored (fetched, checked, sealed), to open


def waiting(connection: Connection, limit: int = 100) -> list[dict[str, Any]]:
    """The hand-overs waiting or in progress, oldest first, each with its customer by id and the last message."""
    rows, _ = open_handovers(connection, limit)
    listed = []
    for row in rows:
        last = connection.execute(
            select(MESSAGES.c.created_at, MESSAGES.c.author)
            .where(MESSAGES.c.handover_id == row.id)
            .order_by(MESSAGES.c.id.desc())
            .limit(1)
        ).first()
        listed.append({"row": row, "customer_ref": customer_ref(connection, row.customer_id), "last": last})
    return listed


def _stored_attachments(connection: Connection, message_ids: list[str]) -> dict[str, int]:
    """{LINE message id: attachment id} of the messages whose content is stored and may be opened."""
    found = select_map(connection, ATTACHMENTS, "line_message_id", message_ids, "id", "status")
    return {key: row.id for key, row in found.items() if row.status == AttachmentStatus.STORED}


def history(connection: Connection, handover: Any, locale: str) -> list[Entry]:
    """The conversation in order: its recorded messages and the bot's LINE answers to the customer from a little
    before it opened until it ended (a staff reply or the release message is shown once, as written)."""
    recorded = connection.execute(
        select(MESSAGES).where(MESSAGES.c.handover_id == handover.id).order_by(MESSAGES.c.id)
    ).all()
    shown = {row.delivery_id for row in recorded if row.delivery_id and row.text}
    stored = _stored_attachments(connection, [row.line_message_id for row in recorded if row.line_message_id])
    entries = [
        Entry(
            row.created_at,
            row.author,
            row.message_type,
            row.text,
            row.line_message_id,
            row.staff,
            stored.get(row.line_message_id),
        )
        for row in recorded
        if not (row.author == "bot" and row.text is None)
    ]
    until = handover.closed_at or handover.released_at
    answers = select(DELIVERIES).where(
        DELIVERIES.c.customer_id == handover.customer_id,
        DELIVERIES.c.channel == Channel.LINE,
        DELIVERIES.c.created_at >= handover.opened_at - BEFORE,
    )
    if until is not None:
        answers = answers.where(DELIVERIES.c.created_at <= until)
    for row in connection.execute(answers.order_by(DELIVERIES.c.id)).all():
        if row.id in shown:
            continue
        entries.append(Entry(row.created_at, "bot", "text", _rendered(row, locale)))
    return sorted(entries, key=lambda entry: entry.at)


def _rendered(row: Any, locale: str) -> str:
    try:
        # the service's name is merged at send time, not stored with the row
        fields = {"service_name": text("common.service_name", locale), **(row.fields or {})}
        return Template(row.template, locale).body(fields)
    except KeyError:
        return row.template


def open_conversation(connection: Connection, actor: str, reference: str, now: datetime) -> Any | None:
    """The hand-over by its 受付番号, its opening audited as a personal-data access (None: no such number)."""
    row = find_handover(connection, reference)
    result = "done" if row is not None else "not_found"
    detail = about([row.customer_id]) if row is not None else None
    audit(connection, actor, PLACE, "open", reference, result, now, detail, personal_data=row is not None)
    return row


def note(connection: Connection, actor: str, command: str, handover: Any, result: str, now: datetime) -> None:
    """An inbox action in the audit: reply, release, close, reveal (reveal shows personal data)."""
    audit(
        connection,
        actor,
        PLACE,
        command,
        handover.reference,
        result,
        now,
        about([handover.customer_id]),
        personal_data=command == "reveal",
    )


__all__ = ["HANDOVERS", "Entry", "history", "note", "open_conversation", "waiting"]
