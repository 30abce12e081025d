"""Journeys started by what a customer does: each of the five events (friend-add, ID link, email registered,
booking made, request closed), from the chat, the staff desk or the events API, enrols into a scenario that
listens to it, in the event's own transaction and by the daily triggers' entry rules (segment, permission,
re-entry, pause, holdout). The welcome series (#24) itself: tests/integration/scenarios/test_24_welcome_series.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update

from bot.chat.account_link import new_nonce
from bot.cli.requests import requests_group
from bot.jobs.tasks import tick as periodic_tick
from bot.scenarios.journeys import enrol_on_event
from flows.catalog import SCENARIOS
from flows.dsl import Anchor, Event, OnEvent, Scenario, Send, is_false
from flows.engine import TOKYO
from models import (
    Customer,
    CustomerChannels,
    Enrollment,
    Reservation,
    ServiceRequest,
    Store,
    utcnow,
)
from tests.integration.chat_helpers import Chat, action_of, emulated_line
from tests.integration.test_account_link import account_link
from tests.integration.test_account_link import customer as policyholder
from tests.integration.test_campaign_dialogs import picked, today

WELCOME = SCENARIOS["welcome_series"]


def listener(event: Event, number: int, anchor: Anchor = Anchor.OCCURRENCE, segment: tuple = ()) -> Scenario:
    """A scenario built for the test that `event` starts (no shipped scenario listens to it)."""
    return Scenario(
        id=f"on_{event}",
        number=number,
        title=f"{event} のテスト",
        trigger=OnEvent(event),
        anchor=anchor,
        segment=segment,
        steps=(Send("send_a", "welcome_series.a"),),
    )


LISTENERS = (
    listener(Event.LINKED, 91),
    listener(Event.EMAIL_REGISTERED, 92),
    listener(Event.BOOKING_MADE, 93, Anchor.RESERVATION, segment=(is_false("reservation.cancelled"),)),
    listener(Event.REQUEST_CLOSED, 94),
)


def run_also(runtime, *scenarios: Scenario) -> None:
    """The service runs these scenarios besides the catalogue's, as if its settings had them."""
    settings = runtime.settings.model_copy()
    settings._scenarios = {**runtime.settings.scenarios, **{s.id: s for s in scenarios}}
    runtime.settings = settings


def enrollments(runtime) -> list:
    with runtime.engine.connect() as connection:
        return connection.execute(select(Enrollment).order_by(Enrollment.id)).all()


def entered(runtime) -> set[tuple[str, int]]:
    return {(row.scenario_id, row.customer_id) for row in enrollments(runtime)}


def tick_at(moment: datetime, drain) -> None:
    """The worker's periodic tick at `moment` (engine, then dispatch), and the send jobs it queued."""
    periodic_tick(moment.isoformat())
    drain()


def test_paused_and_held_out_are_respected(runtime, post_webhook, drain):
    """A paused scenario enrols nobody; a held-out entrant is enrolled as held out and sent nothing."""
    from bot.scenarios.controls import set_paused

    with runtime.engine.begin() as connection:
        set_paused(connection, "welcome_series", True)
    with emulated_line(runtime) as line:
        Chat(runtime, line, post_webhook, drain).follow()
        assert enrollments(runtime) == []
        with runtime.engine.begin() as connection:
            set_paused(connection, "welcome_series", False)
        run_also(runtime, replace(WELCOME, holdout=0.9999))
        friend = Chat(runtime, line, post_webhook, drain)
        friend.follow()
        [series] = enrollments(runtime)
        assert series.held_out is True
        tick_at(series.wake_at, drain)
        assert friend.answers() == []


def test_each_event_in_the_chat_and_at_the_desk_enrols_into_its_scenario(runtime, app, post_webhook, drain):
    """Friend-add, ID link, an email registered in the chat, a visit booked in the chat and a request closed by
    staff each enrol the customer in the scenario listening to that event, and in no other; the journeys the
    prospect started follow the LINE address to the customer at the ID link."""
    insured = policyholder(runtime, code="C2001", phone=None, email=None)
    with runtime.engine.begin() as connection:
        connection.execute(insert(Store).values(code="S009", name="名古屋栄店"))
    with emulated_line(runtime) as line:
        run_also(runtime, *LISTENERS)
        runtime.settings = runtime.settings.model_copy(update={"default_store_code": "S009"})
        friend = Chat(runtime, line, post_webhook, drain)
        friend.follow()
        prospect = friend.customer_id()
        assert entered(runtime) == {("welcome_series", prospect)}

        friend.tap("a=register_email")
        friend.say("hanako.sato@example.jp")
        assert "登録" in friend.say("はい")[0]["text"]
        assert ("on_email_registered", prospect) in entered(runtime)

        [question] = friend.tap("a=book", datetime=picked(today() + timedelta(days=10)))
        friend.tap(action_of(question, "confirm"))
        [booking] = [row for row in enrollments(runtime) if row.scenario_id == "on_booking_made"]
        assert booking.customer_id == prospect and booking.anchor_key.startswith("reservation:LINE-")

        with runtime.engine.begin() as connection:
            nonce = new_nonce(connection, insured, friend.user_id, utcnow())
        account_link(friend, nonce)
        assert ("on_linked", insured) in entered(runtime)

        now = utcnow()
        with runtime.engine.begin() as connection:
            connection.execute(
                insert(ServiceRequest).values(
                    reference="R0001",
                    customer_id=insured,
                    kind="address_change",
                    status="received",
                    created_at=now,
                    updated_at=now,
                )
            )
        closed = app.test_cli_runner().invoke(requests_group, ["close", "R0001", "--by", "staff-7"])
        assert closed.exit_code == 0, closed.output
    assert entered(runtime) == {  # the prospect's journeys followed the LINE address at the link
        ("welcome_series", insured),
        ("on_email_registered", insured),
        ("on_booking_made", insured),
        ("on_linked", insured),
        ("on_request_closed", insured),
    }


def test_the_events_api_enrols_on_an_email_registered_and_a_booking_made(runtime, push):
    """`email_updated` starts the email-registered journeys, `reservation_made` the booking ones (once per
    reservation: a second request with the same reservation enrols nobody again)."""
    run_also(runtime, *LISTENERS)
    customer = {"email": "taro.yamada@example.com", "email_permitted": True}
    at = "2026-06-10T10:00:00+09:00"

    def event(type_: str, data: dict) -> dict:
        return {"events": [{"type": type_, "occurred_at": at, "customer": customer, "data": data}]}

    made = {"reservation_id": "RV1", "visit_on": "2026-06-20"}
    assert push(event("reservation_made", made)).status_code == 200
    assert push(event("reservation_made", made)).status_code == 200
    assert push(event("email_updated", {"email": "taro.new@example.com"})).status_code == 200
    with runtime.engine.connect() as connection:
        taro = connection.execute(select(Customer.id)).scalar_one()
    assert [(row.scenario_id, row.customer_id, row.anchor_key) for row in enrollments(runtime)] == [
        ("on_booking_made", taro, "reservation:RV1"),
        ("on_email_registered", taro, f"occurrence:{utcnow().astimezone(TOKYO).date().isoformat()}"),
    ]


def test_an_event_enrols_only_whom_the_scenario_would_take(runtime, post_webhook, drain):
    """The daily triggers' entry rules hold for events: the segment on the event's record (a cancelled booking
    does not enter), re-entry (not while a welcome series runs), and the permission on the first message's
    channel (a friend who withdrew LINE marketing does not enter)."""
    with emulated_line(runtime) as line:
        friend = Chat(runtime, line, post_webhook, drain)
        friend.follow()
    who = friend.customer_id()
    at = datetime(2026, 6, 1, 12, 0, tzinfo=TOKYO)
    booking = {LISTENERS[2].id: LISTENERS[2]}
    welcome = {WELCOME.id: WELCOME}
    with runtime.engine.begin() as connection:
        for code, cancelled in (("RV8", False), ("RV9", True)):
            connection.execute(
                insert(Reservation).values(
                    reservation_code=code,
                    customer_id=who,
                    cancelled=cancelled,
                    reserved_on=at.date(),
                    updated_at=at,
                )
            )
        assert (
            enrol_on_event(connection, booking, Event.BOOKING_MADE, who, at, {Anchor.RESERVATION: "RV9"})
            == []
        )
        assert enrol_on_event(
            connection, booking, Event.BOOKING_MADE, who, at, {Anchor.RESERVATION: "RV8"}
        ) == ["on_booking_made"]
        later = at + timedelta(days=1)
        assert enrol_on_event(connection, welcome, Event.FRIEND_ADDED, who, later) == []  # one is running
        connection.execute(update(Enrollment).values(status="done"))
        connection.execute(
            update(CustomerChannels).where(CustomerChannels.customer_id == who).values(line_permitted=False)
        )
        assert enrol_on_event(connection, welcome, Event.FRIEND_ADDED, who, later) == []  # no LINE permission
        connection.execute(
            update(CustomerChannels).where(CustomerChannels.customer_id == who).values(line_permitted=True)
        )
        assert enrol_on_event(connection, welcome, Event.FRIEND_ADDED, who, later) == ["welcome_series"]


def test_why_says_which_event_starts_a_scenario(runtime):
    """An event-started scenario has no calendar day to check: `why` names the event instead of printing nothing."""
    from bot.scenarios.explain import entry_lines
    from models import Customer

    with runtime.engine.begin() as connection:
        customer_id = connection.execute(
            insert(Customer)
            .values(customer_code="C1", created_at=datetime.now(TOKYO), updated_at=datetime.now(TOKYO))
            .returning(Customer.id)
        ).scalar_one()
        now = datetime(2026, 6, 1, 12, 0, tzinfo=TOKYO)
        lines = entry_lines(connection, SCENARIOS["welcome_series"], customer_id, now, "ja")
        english = entry_lines(connection, SCENARIOS["welcome_series"], customer_id, now, "en")
    assert lines[0].startswith("→ ") and "友だち追加" in lines[0], lines
    assert english[0].startswith("→ ") and "friend" in english[0].lower(), english
