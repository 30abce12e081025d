"""#6 来店キャンセル後の再予約促進: the day after a cancellation, 19:00, A by email; three days later C (campaign and
form, on the channel ladder) to those who opened A, B by SMS to those who did not; re-booking ends the flow
before any send, before C too."""

from __future__ import annotations

from datetime import datetime, timedelta

from flows import rebooking_after_cancel as module
from flows.engine import TOKYO
from flows.params import merge
from models import CustomerChannels, Reservation
from tests.integration.scenario_helpers import (
    assert_no_message_twice,
    customer_ids,
    engage,
    exit_times,
    exits,
    load,
    run,
    set_values,
    timeline,
    write,
)

START = datetime(2026, 6, 11, 0, 0, tzinfo=TOKYO)  # the day after the 10 June cancellations


def reservation(code: str, *, email: str = "真", sms: str = "", line: str = "", **flags: str) -> dict:
    """An F3 row of a prospect who cancelled on 10 June (given name = code); `email` is the email permission,
    `sms` / `line` add a permitted phone number / LINE ID."""
    return {
        "reservation_id": f"R-{code}",
        "email_main": f"{code}@example.com",
        "email_permitted": email,
        "sms_phone": sms,
        "sms_permitted": "真" if sms else "偽",
        "line_user_id": line,
        "line_permitted": "真" if line else "偽",
        "visit_on": "2026/06/12",
        "cancelled": flags.get("cancelled", "真"),
        "cancelled_on": "2026/06/10",
        "rebooked": flags.get("rebooked", "偽"),
        "family_name": "高橋",
        "given_name": code,
    }


def rebooks(runtime, code: str) -> None:
    set_values(runtime, Reservation, Reservation.reservation_code == f"R-{code}", rebooked=True)


def test_cancellers_follow_the_decks_email_then_sms_timeline(runtime, tmp_path):
    """A by email only; openers get C on the ladder, others B by SMS only; re-booking stops B and C alike."""
    rows = [
        reservation("opens", line="U" + "1" * 32),
        reservation("ignores", sms="090-1234-5671"),
        reservation("no_sms"),
        reservation("rebooks_b", sms="090-1234-5672"),
        reservation("rebooks_c", line="U" + "2" * 32),
        reservation("opts_out"),
        reservation("sms_only", email="偽", sms="090-1234-5673"),
        reservation("kept", cancelled="偽"),
        reservation("rebooked", rebooked="真"),
    ]
    load(runtime, "F3", write(tmp_path / "f3.csv", rows))
    run(runtime, module.SCENARIO, START, 1)
    ids = customer_ids(runtime)
    engage(runtime, ids["opens"], "send_a")
    engage(runtime, ids["rebooks_c"], "send_a", "clicked_at")
    rebooks(runtime, "rebooks_b")
    rebooks(runtime, "rebooks_c")
    set_values(
        runtime, CustomerChannels, CustomerChannels.customer_id == ids["opts_out"], email_permitted=False
    )
    run(runtime, module.SCENARIO, START + timedelta(days=1), 6)
    assert timeline(runtime) == [
        ("ignores", "06-11", "19:00", "send_a", "email"),
        ("no_sms", "06-11", "19:00", "send_a", "email"),
        ("opens", "06-11", "19:00", "send_a", "email"),
        ("opts_out", "06-11", "19:00", "send_a", "email"),
        ("rebooks_b", "06-11", "19:00", "send_a", "email"),
        ("rebooks_c", "06-11", "19:00", "send_a", "email"),
        ("ignores", "06-14", "19:00", "send_b", "sms"),
        ("opens", "06-14", "19:00", "send_c", "line"),
    ]
    assert exits(runtime) == {
        "opens": "finished",
        "ignores": "finished",
        "no_sms": "finished",
        "rebooks_b": "converted",
        "rebooks_c": "converted",  # the deck checks only before B; re-booking stops C as well
        "opts_out": "opted_out",
    }
    ended = exit_times(runtime)  # both re-bookers leave at the A+3d wake-up, before B or C would be queued
    assert ended["rebooks_b"] == ended["rebooks_c"] == ("converted", "06-14 19:00")
    assert_no_message_twice(runtime)


def test_operators_can_change_the_trigger_and_the_wait(runtime, tmp_path):
    """trigger_days 2, trigger_at 10:00, wait_days 2: A at cancellation+2d 10:00, B or C two days later."""
    load(
        runtime,
        "F3",
        write(tmp_path / "f3.csv", [reservation("opens"), reservation("ignores", sms="090-1234-5674")]),
    )
    settings = {"trigger_days": 2, "trigger_at": "10:00", "wait_days": 2}
    scenario = module.build(merge(module.ID, module.DEFAULTS, settings))
    run(runtime, scenario, START, 2)
    engage(runtime, customer_ids(runtime)["opens"], "send_a")
    run(runtime, scenario, START + timedelta(days=2), 3)
    assert timeline(runtime) == [
        ("ignores", "06-12", "10:00", "send_a", "email"),
        ("opens", "06-12", "10:00", "send_a", "email"),
        ("ignores", "06-14", "10:00", "send_b", "sms"),
        ("opens", "06-14", "10:00", "send_c", "email"),
    ]
    assert exits(runtime) == {"opens": "finished", "ignores": "finished"}
