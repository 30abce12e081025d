"""Store-visit reservations (来店予約) in the chat: book (予約), reschedule (日程変更) and cancel (キャンセル) from the
buttons of scenario messages (#5's reminders, #6's re-booking invitations, #7/#8's follow-ups …) and of the
chat's own answers.

A button names the message tapped (`t=`) and so the reservation: the anchor record of that message's
enrollment, or the reservation a chat answer was about (its ledger fields). Book and reschedule use LINE's
date-time picker; the moment chosen must be in the future, within BOOKING_HORIZON_DAYS and inside STORE_HOURS
(Japan time). Every change is confirmed with the customer before anything is written.

What is written (the insurer's F3 data: one record per reservation, 来店予定日 a day without a time):
- book: a new reservation `LINE-…` (来店予約日 today, 来店予定日 the day chosen, the store of the tapped message's
  reservation, else DEFAULT_STORE_CODE, else none). Booked from the message of a cancelled reservation (#6),
  that reservation is marked re-booked (来店再予約フラグ・日): #6's goal, so #6 ends as converted.
- reschedule: as upstream, a new record for the new day; the old one is marked cancelled and re-booked that
  day. #5's reminders for the old day stop (its cancellation checks end the enrollment as `cancelled` at its
  next wake-up, and any of its messages still waiting to go out are withdrawn now), #6 does not start (already
  re-booked), and the new record gets #5's reminders from its own trigger day (a week before the visit).
- cancel: 来店キャンセルフラグ and today's date; #5 stops as above, #6 invites to re-book the next day.
Each write marks customer data changed, so that the triggers look again the same day.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, select, true, update

from bot.chat.answers import Turn, answer, chat_locale
from bot.chat.dialog_state import DialogState
from bot.delivery.content import format_date
from bot.inbound.context import Ctx
from bot.offers.referrals import ALPHABET
from bot.platform import outbound
from bot.scenarios.journeys import start_journeys
from bot.scenarios.triggers import mark_data_changed
from flows.dsl import Anchor, Event
from flows.engine import TOKYO, japan_day
from flows.rules import parse_quiet_hours
from handlers.conversation import ChatListeners, begin, end
from handlers.dialogs.tapped import reservation, tapped_reservation
from models import UNSETTLED, Delivery, DeliveryStatus, Dialog, Enrollment, Reservation, Store

log = logging.getLogger(__name__)
chat = ChatListeners()
NAME = chat.dialog("visit_booking", "confirm")
RESERVATIONS = Reservation.__table__
DELIVERIES = Delivery.__table__
ENROLLMENTS = Enrollment.__table__
STORES = Store.__table__
DIALOGS = Dialog.__table__
YES = ("はい", "yes", "ok")
# what a rescheduled visit keeps of the old record (same store, adviser and topic)
KEPT = (
    "store_code",
    "staff_code",
    "consultation",
    "consultation_trigger",
    "product_type_code",
    "product_code",
)


def new_code() -> str:
    """A natural key for a record made in the chat (来店予約ID, 資料請求ID, 見積ID): `LINE-` and 8 characters."""
    return "LINE-" + "".join(secrets.choice(ALPHABET) for _ in range(8))


def format_visit(moment: datetime, locale: str) -> str:
    local = moment.astimezone(TOKYO)
    if locale == "ja":
        return f"{local.month}月{local.day}日（{'月火水木金土日'[local.weekday()]}）{local:%H:%M}"
    return f"{local:%a}, {local:%B} {local.day}, {local:%H:%M}"


def chosen_time(turn: Turn, ctx: Ctx) -> tuple[datetime | None, str | None]:
    """The moment picked (Japan time) and what is wrong with it: missing, past, far or hours (None: fine)."""
    try:
        moment = datetime.fromisoformat(turn.params.get("datetime", ""))
    except ValueError:
        return None, "missing"
    moment = moment.replace(tzinfo=TOKYO) if moment.tzinfo is None else moment.astimezone(TOKYO)
    now = ctx.effective_time.astimezone(TOKYO)
    opens, closes = parse_quiet_hours(ctx.settings.store_hours)
    if moment <= now:
        return moment, "past"
    if moment.date() > now.date() + timedelta(days=ctx.settings.booking_horizon_days):
        return moment, "far"
    if not opens <= moment.time() < closes:
        return moment, "hours"
    return moment, None


def refuse(turn: Turn, ctx: Ctx, action: str, problem: str, moment: datetime | None, code: str) -> None:
    """A moment that cannot be booked: say why, and offer the picker again (for the same reservation)."""
    locale = chat_locale(ctx, turn)
    answer(
        ctx,
        turn,
        f"chat_campaign.{action}_{problem}",
        visit_date=format_visit(moment, locale) if moment else "",
        store_hours=ctx.settings.store_hours.replace("-", "〜" if locale == "ja" else "–"),
        horizon_days=ctx.settings.booking_horizon_days,
        reservation_code=code,
    )


def store_name(ctx: Ctx, code: str | None) -> str:
    if not code:
        return ""
    found = ctx.session.connection().execute(select(STORES.c.name).where(STORES.c.code == code)).scalar()
    return found or code


@chat.command("来店予約", "booking")
def offer_booking(turn: Turn, ctx: Ctx) -> None:
    """A typed request to book: the picker (a text cannot carry a date)."""
    end(turn, ctx)
    answer(ctx, turn, "chat_campaign.book_pick", reservation_code="")


@chat.action("book")
def book(turn: Turn, ctx: Ctx) -> None:
    """予約: a moment picked on any message (a re-booking invitation, a follow-up, a chat answer)."""
    source = tapped_reservation(ctx, turn)
    code = source.reservation_code if source else ""
    moment, problem = chosen_time(turn, ctx)
    if problem or moment is None:
        return refuse(turn, ctx, "book", problem or "missing", moment, code)
    store = (source.store_code if source else None) or ctx.settings.default_store_code or None
    data = {"visit_at": moment.isoformat(), "code": code, "store": store}
    _ask(turn, ctx, begin(turn, ctx, NAME, "confirm", kind="book", **data))


@chat.action("reschedule")
def reschedule(turn: Turn, ctx: Ctx) -> None:
    """日程変更: a new moment for the reservation of the message tapped (#5's reminders, a booking answer)."""
    found = _open_reservation(turn, ctx)
    if found is None:
        return
    moment, problem = chosen_time(turn, ctx)
    if problem or moment is None:
        return refuse(turn, ctx, "reschedule", problem or "missing", moment, found.reservation_code)
    data = {"visit_at": moment.isoformat(), "code": found.reservation_code, "store": found.store_code}
    _ask(turn, ctx, begin(turn, ctx, NAME, "confirm", kind="reschedule", **data))


@chat.action("cancel_reservation")
def cancel_reservation(turn: Turn, ctx: Ctx) -> None:
    """キャンセル of the reservation of the message tapped, once the customer confirms."""
    found = _open_reservation(turn, ctx)
    if found is None:
        return
    visit = format_date(found.visit_on, chat_locale(ctx, turn))
    _ask(
        turn, ctx, begin(turn, ctx, NAME, "confirm", kind="cancel", code=found.reservation_code, visit=visit)
    )


def _open_reservation(turn: Turn, ctx: Ctx) -> Any | None:
    """The tapped message's reservation if it can still be changed; otherwise the customer is told why."""
    found = tapped_reservation(ctx, turn)
    if found is None:
        answer(ctx, turn, "chat_campaign.reservation_not_found", reservation_code="")
        return None
    if found.cancelled:
        answer(ctx, turn, "chat_campaign.reservation_closed", reservation_code=found.reservation_code)
        return None
    if found.visited or (found.visit_on is not None and found.visit_on < japan_day(ctx.effective_time)):
        answer(ctx, turn, "chat_campaign.reservation_past", reservation_code=found.reservation_code)
        return None
    return found


def _ask(turn: Turn, ctx: Ctx, state: DialogState) -> None:
    """The confirmation question of the change the dialog holds (asked again after an unclear answer)."""
    kind, code = state.data["kind"], state.data["code"]
    if kind == "cancel":
        answer(
            ctx, turn, "chat_campaign.cancel_confirm", visit_date=state.data["visit"], reservation_code=code
        )
        return
    name = store_name(ctx, state.data.get("store"))
    template = f"chat_campaign.{kind}_confirm" + ("_any" if kind == "book" and not name else "")
    visit = format_visit(datetime.fromisoformat(state.data["visit_at"]), chat_locale(ctx, turn))
    answer(ctx, turn, template, visit_date=visit, store_name=name, reservation_code=code)


@chat.step(NAME, "confirm")
def confirm(turn: Turn, state: DialogState, ctx: Ctx) -> None:
    """はい carries the change out; やめる leaves everything as it was; 入力し直す offers the picker again."""
    kind, code = str(state.data["kind"]), str(state.data["code"])
    if turn.action == "confirm" or (turn.text is not None and turn.text.strip().lower() in YES):
        if not claim(turn, ctx, state):  # a second "はい" for the same question changes nothing
            answer(ctx, turn, "chat.dialog_expired")
            return
        {"book": _book, "reschedule": _reschedule, "cancel": _cancel}[kind](turn, state, ctx)
    elif turn.action == "cancel_dialog":
        end(turn, ctx)
        answer(ctx, turn, f"chat_campaign.{kind}_stopped", reservation_code=code)
    elif turn.action == "change" and kind != "cancel":
        end(turn, ctx)
        answer(ctx, turn, f"chat_campaign.{kind}_pick", reservation_code=code)
    else:
        _ask(turn, ctx, state)


def claim(turn: Turn, ctx: Ctx, state: DialogState) -> bool:
    """End the dialog and tell whether this turn ended it (two taps of はい processed at once: one wins)."""
    statement = delete(DIALOGS).where(
        DIALOGS.c.line_user_id == turn.user_id, DIALOGS.c.name == state.name, DIALOGS.c.step == state.step
    )
    return ctx.session.connection().execute(statement).rowcount == 1


def _book(turn: Turn, state: DialogState, ctx: Ctx) -> None:
    connection, today = ctx.session.connection(), japan_day(ctx.effective_time)
    moment, store = datetime.fromisoformat(str(state.data["visit_at"])), state.data.get("store")
    code = _insert(turn, ctx, moment, store_code=store)
    rebooked = 0
    if state.data["code"]:  # booked again after a cancellation: 来店再予約 (#6's goal)
        rebooked = connection.execute(
            update(RESERVATIONS)
            .where(
                RESERVATIONS.c.reservation_code == state.data["code"],
                RESERVATIONS.c.customer_id == turn.customer_id,
                RESERVATIONS.c.cancelled.is_(true()),
                RESERVATIONS.c.rebooked.is_not(True),
            )
            .values(rebooked=True, rebooked_on=today, updated_at=ctx.now)
        ).rowcount
    mark_data_changed(connection)
    records = {Anchor.RESERVATION: code}
    start_journeys(
        connection, ctx.settings, Event.BOOKING_MADE, turn.customer_id, ctx.effective_time, records
    )
    booking_event(connection, ctx, turn.customer_id, "booking.made", code)
    log.info("customer=%s booked reservation=%s rebooking=%s", turn.customer_id, code, bool(rebooked))
    _done(turn, ctx, "booked", moment, store, code)


def booking_event(
    connection: Connection,
    ctx: Ctx,
    customer_id: int,
    event_type: str,
    code: str,
    replaces: str | None = None,
) -> None:
    """Tell the insurer's systems (outbound webhooks) about the reservation as it now stands; a changed one names
    the reservation it replaces (cancelled and re-booked)."""
    row = connection.execute(select(RESERVATIONS).where(RESERVATIONS.c.reservation_code == code)).one()
    data = {
        "reservation_code": code,
        "replaces": replaces,
        "visit_at": row.visit_at.isoformat() if row.visit_at else None,
        "store_code": row.store_code,
        "staff_code": row.staff_code,
        "cancelled": bool(row.cancelled),
    }
    outbound.record(connection, ctx.settings, event_type, data, ctx.now, customer_id)


def _insert(turn: Turn, ctx: Ctx, moment: datetime, **values: Any) -> str:
    """A new reservation record made in the chat (来店予約日 today); its 来店予約ID."""
    code = new_code()
    row = {"reservation_code": code, "customer_id": turn.customer_id, "updated_at": ctx.now}
    row |= {
        "reserved_on": japan_day(ctx.effective_time),
        "visit_on": moment.date(),
        "visit_at": moment,
        **values,
    }
    ctx.session.connection().execute(insert(RESERVATIONS).values(row))
    return code


def _reschedule(turn: Turn, state: DialogState, ctx: Ctx) -> None:
    old = reservation(ctx, turn, str(state.data["code"]))
    if old is None or old.cancelled or old.visited:
        answer(ctx, turn, "chat_campaign.reservation_closed", reservation_code=str(state.data["code"]))
        return
    moment = datetime.fromisoformat(str(state.data["visit_at"]))
    code = _insert(turn, ctx, moment, **{column: getattr(old, column) for column in KEPT})
    _close(turn, ctx, old.reservation_code, rebooked=True)
    booking_event(
        ctx.session.connection(), ctx, turn.customer_id, "booking.changed", code, old.reservation_code
    )
    log.info("customer=%s rescheduled reservation=%s as %s", turn.customer_id, old.reservation_code, code)
    _done(turn, ctx, "rescheduled", moment, old.store_code, code)


def _cancel(turn: Turn, state: DialogState, ctx: Ctx) -> None:
    code = str(state.data["code"])
    if not _close(turn, ctx, code, rebooked=False):
        answer(ctx, turn, "chat_campaign.reservation_closed", reservation_code=code)
        return
    booking_event(ctx.session.connection(), ctx, turn.customer_id, "booking.cancelled", code)
    log.info("customer=%s cancelled reservation=%s", turn.customer_id, code)
    answer(ctx, turn, "chat_campaign.cancelled", visit_date=state.data["visit"], reservation_code=code)


def _close(turn: Turn, ctx: Ctx, code: str, rebooked: bool) -> bool:
    """Cancel the reservation (and mark it re-booked for a new day); withdraw its scenarios' waiting messages."""
    connection, today = ctx.session.connection(), japan_day(ctx.effective_time)
    values: dict[str, Any] = {"cancelled": True, "cancelled_on": today, "updated_at": ctx.now}
    if rebooked:
        values |= {"rebooked": True, "rebooked_on": today}
    changed = connection.execute(
        update(RESERVATIONS)
        .where(
            RESERVATIONS.c.reservation_code == code,
            RESERVATIONS.c.customer_id == turn.customer_id,
            RESERVATIONS.c.cancelled.is_not(True),
        )
        .values(values)
    ).rowcount
    if not changed:
        return False
    anchored = select(ENROLLMENTS.c.id).where(ENROLLMENTS.c.anchor_key == f"{Anchor.RESERVATION}:{code}")
    withdrawn = connection.execute(
        update(DELIVERIES)
        .where(
            DELIVERIES.c.enrollment_id.in_(anchored.scalar_subquery()),
            DELIVERIES.c.status.in_(UNSETTLED),
        )
        .values(status=DeliveryStatus.FAILED, error="cancelled: reservation changed", updated_at=ctx.now)
    ).rowcount
    mark_data_changed(connection)
    log.info("reservation=%s closed rebooked=%s waiting_withdrawn=%s", code, rebooked, withdrawn)
    return True


def _done(turn: Turn, ctx: Ctx, kind: str, moment: datetime, store: str | None, code: str) -> None:
    name = store_name(ctx, store)
    visit = format_visit(moment, chat_locale(ctx, turn))
    template = f"chat_campaign.{kind}" + ("" if name else "_any")
    answer(ctx, turn, template, visit_date=visit, store_name=name, reservation_code=code)
