"""#13 契約後のフォローシナリオ over imported F5 data: five messages three days apart from the day after the first
contract starts, 10:00; a cancelled contract ends the drip as `cancelled`; a withdrawn permission as `opted_out`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from flows import onboarding_after_contract as module
from flows.engine import TOKYO
from flows.params import merge
from models import ContractSummary, CustomerChannels, TraceEntry
from tests.integration.scenario_helpers import (
    assert_no_message_twice,
    customer_ids,
    exits,
    load,
    person,
    run,
    set_values,
    timeline,
    write,
)

LINE_ID = "U" + "d" * 32
DAYS = ("06-02", "06-05", "06-08", "06-11", "06-14")
STEPS = ("send_a", "send_b", "send_c", "send_d", "send_e")


def policyholder(code: str, started: str = "2026/06/01", contracted: str = "真", **channels: str) -> dict:
    """An F5 row of a customer whose first contract started on `started`."""
    return person(code, contracted=contracted, **channels) | {"first_contract_start_on": started}


def drip(code: str, channel: str, days=DAYS, at: str = "10:00") -> list[tuple]:
    return [(code, day, at, step, channel) for day, step in zip(days, STEPS, strict=False)]


def test_the_drip_sends_five_messages_and_stops_on_cancellation_or_withdrawn_permission(runtime, tmp_path):
    """A–E at start+1d 10:00 and every 3 days; cancelled or opted-out customers get nothing more after it."""
    rows = [
        policyholder("keeps", line=LINE_ID, line_ok="真", email="k@example.com", email_ok="真"),
        policyholder("unknown", contracted="", email="u@example.com", email_ok="真"),  # blank 契約フラグ
        policyholder("withdraws", email="w@example.com", email_ok="真"),
        policyholder("cancels", sms="090-1111-2222", sms_ok="真"),
        policyholder("cooling_off", contracted="偽", email="c@example.com", email_ok="真"),
        policyholder("next_day", started="2026/06/02", email="n@example.com", email_ok="真"),
        policyholder("no_consent", email="x@example.com", email_ok="偽"),
        policyholder("no_contract", started="", email="y@example.com", email_ok="真"),
    ]
    load(runtime, "F5", write(tmp_path / "f5.csv", rows))
    ids = customer_ids(runtime)
    start = datetime(2026, 6, 2, 0, 0, tzinfo=TOKYO)

    run(runtime, module.SCENARIO, start, 1)
    set_values(runtime, ContractSummary, ContractSummary.customer_id == ids["cancels"], contracted=False)
    run(runtime, module.SCENARIO, datetime(2026, 6, 3, tzinfo=TOKYO), 3)  # to B on 06-05
    set_values(
        runtime, CustomerChannels, CustomerChannels.customer_id == ids["withdraws"], email_permitted=False
    )
    run(runtime, module.SCENARIO, datetime(2026, 6, 6, tzinfo=TOKYO), 10)

    later = ("06-03", "06-06", "06-09", "06-12", "06-15")
    expected = (
        drip("keeps", "line")
        + drip("unknown", "email")
        + drip("withdraws", "email")[:2]
        + drip("cancels", "sms")[:1]
        + drip("next_day", "email", later)
    )
    assert timeline(runtime) == sorted(expected, key=lambda row: (row[1], row[2], row[0]))
    assert exits(runtime) == {
        "keeps": "finished",
        "unknown": "finished",  # only an explicit 偽 is a cancellation
        "withdraws": "opted_out",
        "cancels": "cancelled",
        "cooling_off": "cancelled",  # cancelled before A: not even the documents notice
        "next_day": "finished",
    }
    with runtime.engine.connect() as connection:
        left = connection.execute(select(TraceEntry.step).where(TraceEntry.code == "left")).all()
    assert left == [("wait_a",)]  # the cancellation is the scenario's exit_when, read at the wake-up before B
    assert_no_message_twice(runtime)


def test_changed_settings_move_the_drip_and_the_weekly_cap_holds_a_tight_one(runtime, tmp_path):
    """gap_days 2 at 19:00: A, B, C two days apart; the fourth message in a week waits a day, and E after it."""
    scenario = module.build(merge(module.ID, module.DEFAULTS, {"gap_days": 2, "trigger_at": "19:00"}))
    load(
        runtime,
        "F5",
        write(tmp_path / "f5.csv", [policyholder("tight", email="t@example.com", email_ok="真")]),
    )
    run(runtime, scenario, datetime(2026, 6, 2, 0, 0, tzinfo=TOKYO), 10)
    assert timeline(runtime) == drip("tight", "email", ("06-02", "06-04", "06-06", "06-09", "06-11"), "19:00")
    assert exits(runtime) == {"tight": "finished"}
    assert_no_message_twice(runtime)
