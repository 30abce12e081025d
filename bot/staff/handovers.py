"""Hand-over to a person (担当者への引き継ぎ): the customer gets a 受付番号 and when staff will answer; staff of
the customer's store (else the service desk) are told; while the hand-over is open or held the bot answers no
free text, every customer message is kept for staff, and marketing waits (bot/delivery/sending.py holds it as
`in_handover`). Staff answer with /reply (pushed through the delivery ledger), give the conversation back with
/release (the held marketing is then sent, once) or close it from the inbox.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from bot.chat.answers import Turn, answer
from bot.chat.richmenus import switch_after_commit
from bot.delivery.chat_signals import signal_after_commit
from bot.delivery.outbox import queue_message, send_held_marketing
from bot.inbound.context import Ctx
from bot.platform.config import LINE_CHAT_ID, Settings
from bot.platform.i18n import text
from bot.staff.desk import customer_ref, notify_staff, request_reference
from bot.staff.hours import staff_reply
from flows.engine import TOKYO
from flows.rules import parse_quiet_hours
from models import ACTIVE_HANDOVER, Handover, HandoverMessage, HandoverStatus, Reservation

log = logging.getLogger(__name__)
HANDOVERS = Handover.__table__
MESSAGES = HandoverMessage.__table__
RESERVATIONS = Reservation.__table__
REASONS = ("asked", "complaint", "accident", "payment_trouble", "cancel_contract")
# 32 characters without 0/O and 1/I, as the service desk's: a number read out over the phone is not misheard
REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
ACTIVE = [str(status) for status in ACTIVE_HANDOVER]


@dataclass(frozen=True)
class Opened:
    """A hand-over asked for: the conversation, and whether it was opened just now (else it was open already)."""

    handover: Any
    new: bool


def reference_number(day: Any, random_bits: int) -> str:
    """受付番号 of a hand-over: H, the day (yymmdd, Japan time) and four characters, e.g. H261207-7KQM."""
    chars = "".join(REFERENCE_ALPHABET[(random_bits >> (5 * i)) & 31] for i in range(4))
    return f"H{day:%y%m%d}-{chars}"


def _new_reference(connection: Connection, now: datetime) -> str:
    day = now.astimezone(TOKYO).date()
    for _ in range(8):
        reference = reference_number(day, secrets.randbits(20))
        if (
            connection.execute(select(HANDOVERS.c.id).where(HANDOVERS.c.reference == reference)).first()
            is None
        ):
            return reference
    raise RuntimeError("no free hand-over reference for today")


def active_handover(connection: Connection, customer_id: int) -> Any | None:
    """The customer's hand-over that is open or held, if any."""
    return connection.execute(
        select(HANDOVERS)
        .where(HANDOVERS.c.customer_id == customer_id, HANDOVERS.c.status.in_(ACTIVE))
        .order_by(HANDOVERS.c.id.desc())
        .limit(1)
    ).first()


def find_handover(connection: Connection, reference: str) -> Any | None:
    return connection.execute(
        select(HANDOVERS).where(HANDOVERS.c.reference == request_reference(reference))
    ).first()


def store_of(connection: Connection, customer_id: int) -> str | None:
    """The customer's store: that of their latest reservation naming one."""
    return connection.execute(
        select(RESERVATIONS.c.store_code)
        .where(RESERVATIONS.c.customer_id == customer_id, RESERVATIONS.c.store_code.is_not(None))
        .order_by(RESERVATIONS.c.updated_at.desc(), RESERVATIONS.c.id.desc())
        .limit(1)
    ).scalar()


def staff_of(settings: Settings, store_code: str | None) -> list[str] | None:
    """The staff told of a hand-over: the store's (HANDOVER_STAFF_ROUTES), else None for the default list."""
    return settings.handover_staff_routes.get(store_code) if store_code else None


def open_handover(ctx: Ctx, customer_id: int, reason: str) -> Opened:
    """Hand the customer's conversation to a person, or find the one already open: a new one gets a 受付番号
    and its staff are told (in the handler's transaction, pushed after it commits)."""
    connection = ctx.session.connection()
    found = active_handover(connection, customer_id)
    if found is not None:
        return Opened(found, False)
    store = store_of(connection, customer_id)
    row = {
        "customer_id": customer_id,
        "reference": _new_reference(connection, ctx.now),
        "reason": reason if reason in REASONS else "asked",
        "status": HandoverStatus.OPEN,
        "store_code": store,
        "opened_at": ctx.now,
    }
    handover_id = connection.execute(insert(HANDOVERS).values(row).returning(HANDOVERS.c.id)).scalar_one()
    switch_after_commit(ctx.session, customer_id)  # the hand-over's rich menu
    notify_staff(
        ctx,
        "handover",
        customer_id,
        "chat_handover.staff_opened",
        to=staff_of(ctx.settings, store),
        reference=row["reference"],
        handover_reason=text(f"messages.chat_handover.reasons.{row['reason']}", "ja"),
    )
    log.info("event row=%s hand-over %s opened for customer=%s", ctx.event_row_id, handover_id, customer_id)
    return Opened(connection.execute(select(HANDOVERS).where(HANDOVERS.c.id == handover_id)).one(), True)


def hand_to_person(turn: Turn, ctx: Ctx, reason: str = "asked") -> Any:
    """The customer asked for a person (or took the bot's offer): a hand-over with its 受付番号, and the answer
    says when staff reply (within the business hours, or from when). Asking again answers with the same number."""
    opened = open_handover(ctx, turn.customer_id, reason)
    reference = opened.handover.reference
    if not opened.new:
        answer(ctx, turn, "chat_handover.already_open", reference=reference)
        return opened.handover
    open_now, fields = when_staff_answer(ctx.settings, ctx.now)
    template = "chat_handover.opened" if open_now else "chat_handover.opened_after_hours"
    answer(ctx, turn, template, reference=reference, accident_phone=ctx.settings.accident_phone, **fields)
    return opened.handover


def offer_person(turn: Turn, ctx: Ctx, reason: str) -> int:
    """Offer a person at the end of what the bot could do (payment trouble, a wish to cancel, a complaint, an
    accident): a 「担当者と話す」 quick reply whose tap opens a hand-over for that reason. Its ledger id."""
    if reason not in REASONS or reason == "asked":
        raise ValueError(f"no hand-over offer for {reason!r}: one of {', '.join(REASONS[1:])}")
    return answer(ctx, turn, f"chat_handover.offer.{reason}", handoff_value=reason)


def when_staff_answer(settings: Settings, now: datetime) -> tuple[bool, dict[str, str]]:
    """Whether staff are at work now, and the words the customer's answer names: the hours, and when staff
    answer if they are not."""
    opens, closes = parse_quiet_hours(settings.business_hours)
    reply = staff_reply(now, opens, closes, settings.business_closed_days)
    locale = settings.default_locale
    labels = "messages.chat_handover.labels"
    hours = text(f"{labels}.hours", locale, opens=f"{opens:%-H:%M}", closes=f"{closes:%-H:%M}")
    at = reply.from_
    when = text(
        f"{labels}.when",
        locale,
        month=at.month,
        day=at.day,
        weekday=text(f"{labels}.weekdays.{at.weekday()}", locale),
        time=f"{at:%-H:%M}",
    )
    return reply.open_now, {"business_hours": hours, "reply_from": when}


def listen(ctx: Ctx, handover: Any, message: dict[str, Any], answered: bool) -> None:
    """A customer message of a hand-over, kept for staff (a text, or a photo … by LINE's id and type). One the
    bot does not answer (`answered` False: not a command such as メニュー) is passed on to the staff member who
    has the conversation (else the staff told of it), and LINE shows the customer that someone is on it: the
    loading animation while a person holds it, the message marked read."""
    connection = ctx.session.connection()
    kept = {name: value for name, value in message.items() if name != "read_token"}  # LINE's, used once
    record_message(connection, handover.id, handover.customer_id, "customer", ctx.now, **kept)
    if answered:
        return
    kind = message.get("message_type", "text")
    said = message.get("text") or text(f"messages.chat_handover.labels.media_{_media(kind)}", "ja")
    # the staff member who answered from the admin chat is told on LINE; one answering in the inbox sees it there
    by_line = handover.staff is not None and LINE_CHAT_ID.match(handover.staff) is not None
    to = [handover.staff] if by_line else staff_of(ctx.settings, handover.store_code)
    notify_staff(
        ctx,
        "handover_message",
        handover.customer_id,
        "chat_handover.staff_customer_said",
        to=to,
        reference=handover.reference,
        said=said,
    )
    held = handover.status == HandoverStatus.HELD
    read_token = message.get("read_token") if held else None
    signal_after_commit(ctx.session, handover.customer_id, loading=held, read_token=read_token)


def _media(kind: str) -> str:
    return kind if kind in ("image", "video", "audio", "file", "sticker", "location") else "other"


def record_message(
    connection: Connection,
    handover_id: int,
    customer_id: int,
    author: str,
    now: datetime,
    message_type: str = "text",
    text: str | None = None,
    line_message_id: str | None = None,
    delivery_id: int | None = None,
    staff: str | None = None,
) -> int:
    row = {
        "handover_id": handover_id,
        "customer_id": customer_id,
        "author": author,
        "message_type": message_type,
        "line_message_id": line_message_id,
        "text": text,
        "delivery_id": delivery_id,
        "staff": staff,
        "created_at": now,
    }
    return connection.execute(insert(MESSAGES).values(row).returning(MESSAGES.c.id)).scalar_one()


def reply_to_customer(
    connection: Connection, settings: Settings, reference: str, staff: str, body: str, now: datetime
) -> tuple[Any | None, int | None]:
    """A staff member's answer, pushed to the customer through the delivery ledger; the staff member now has
    the conversation (held). (the hand-over, the message's ledger id); the id is None when the hand-over is
    over, the row None when there is no such hand-over."""
    row = find_handover(connection, reference)
    if row is None or row.status not in ACTIVE:
        return row, None
    count = connection.execute(
        select(func.count()).select_from(MESSAGES).where(MESSAGES.c.handover_id == row.id)
    ).scalar_one()
    delivery_id = queue_message(
        connection,
        row.customer_id,
        "chat_handover.staff_reply",
        f"handover:{row.id}:{count + 1}",
        now,
        staff_text=body,
    )
    record_message(
        connection, row.id, row.customer_id, "staff", now, text=body, delivery_id=delivery_id, staff=staff
    )
    connection.execute(
        update(HANDOVERS)
        .where(HANDOVERS.c.id == row.id)
        .values(status=HandoverStatus.HELD, staff=staff, held_at=func.coalesce(HANDOVERS.c.held_at, now))
    )
    return row, delivery_id


def give_back(
    connection: Connection, reference: str, staff: str, now: datetime, close: bool = False
) -> tuple[Any | None, int | None]:
    """Release (or close) the hand-over: the bot answers again, the customer is told, and the marketing it
    held is due at once (sent once, by the next dispatch). (the hand-over as it was, the customer's message's
    ledger id: None when it was over already)."""
    row = find_handover(connection, reference)
    if row is None or row.status not in ACTIVE:
        return row, None
    status, stamp = (
        (HandoverStatus.CLOSED, "closed_at") if close else (HandoverStatus.RELEASED, "released_at")
    )
    moved = connection.execute(
        update(HANDOVERS)
        .where(HANDOVERS.c.id == row.id, HANDOVERS.c.status.in_(ACTIVE))  # two staff at once: one message
        .values(status=status, staff=func.coalesce(HANDOVERS.c.staff, staff), **{stamp: now})
    ).rowcount
    if not moved:
        return row, None
    held = send_held_marketing(connection, row.customer_id, now)
    log.info("hand-over %s %s; %s held marketing messages due", row.id, status, held)
    delivery_id = queue_message(
        connection,
        row.customer_id,
        "chat_handover.released",
        f"handover:{row.id}:{status}",
        now,
        reference=row.reference,
    )
    record_message(connection, row.id, row.customer_id, "bot", now, delivery_id=delivery_id, staff=staff)
    return row, delivery_id


def open_handovers(connection: Connection, limit: int = 20) -> tuple[list[Any], int]:
    """The hand-overs open or held, oldest first (up to `limit`), and how many there are."""
    rows = connection.execute(
        select(HANDOVERS).where(HANDOVERS.c.status.in_(ACTIVE)).order_by(HANDOVERS.c.opened_at).limit(limit)
    ).all()
    total = connection.execute(
        select(func.count()).select_from(HANDOVERS).where(HANDOVERS.c.status.in_(ACTIVE))
    ).scalar_one()
    return rows, total


def handover_line(connection: Connection, row: Any) -> str:
    """One hand-over for the admin chat: its number, status, reason, customer (by id) and when it opened."""
    return text(
        "messages.admin_handover.labels.line",
        "ja",
        reference=row.reference,
        status=text(f"messages.admin_handover.labels.statuses.{row.status}", "ja"),
        reason=text(f"messages.chat_handover.reasons.{row.reason}", "ja"),
        customer_ref=customer_ref(connection, row.customer_id),
        opened=f"{row.opened_at.astimezone(TOKYO):%m/%d %H:%M}",
    )
