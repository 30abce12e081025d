"""#3 見積もり者への契約促進: the day after a quote, 19:00, A (thanks for the quote); a day later B to openers still
not contracted, A' to the rest and B the day after; a contract ends the flow at any point."""

from __future__ import annotations

from datetime import datetime, timedelta

from flows import quote_followup as module
from flows.engine import TOKYO
from flows.params import merge
from models import CustomerChannels, Quote
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

START = datetime(2026, 6, 11, 0, 0, tzinfo=TOKYO)  # the day after the 10 June quotes


def quote(code: str, quoted_on: str = "2026/06/10", **fields: str) -> dict[str, str]:
    """An F2 row of a prospect known by email (given name = code)."""
    return {
        "quote_id": f"Q-{code}",
        "email_main": f"{code}@example.com",
        "email_permitted": fields.get("email_ok", "真"),
        "quoted_on": quoted_on,
        "contracted": fields.get("contracted", "偽"),
        "family_name": "鈴木",
        "given_name": code,
    }


def signs(runtime, code: str) -> None:
    set_values(runtime, Quote, Quote.quote_code == f"Q-{code}", contracted=True)


def test_quote_requesters_follow_the_decks_next_day_timeline(runtime, tmp_path):
    """Openers get A, B; others A, A', B; a contract after A or A' converts; unsubscribing opts out."""
    rows = [
        quote("opens"),
        quote("ignores"),
        quote("signs"),
        quote("signs_after_a2"),
        quote("opts_out"),
        quote("next_day", quoted_on="2026/06/11"),
        quote("holder", contracted="真"),
        quote("silent", email_ok="偽"),
    ]
    load(runtime, "F2", write(tmp_path / "f2.csv", rows))
    run(runtime, module.SCENARIO, START, 1)
    ids = customer_ids(runtime)
    engage(runtime, ids["opens"], "send_a")
    signs(runtime, "signs")
    set_values(
        runtime, CustomerChannels, CustomerChannels.customer_id == ids["opts_out"], email_permitted=False
    )
    run(runtime, module.SCENARIO, START + timedelta(days=1), 1)
    signs(runtime, "signs_after_a2")
    run(runtime, module.SCENARIO, START + timedelta(days=2), 3)
    assert timeline(runtime) == [
        ("ignores", "06-11", "19:00", "send_a", "email"),
        ("opens", "06-11", "19:00", "send_a", "email"),
        ("opts_out", "06-11", "19:00", "send_a", "email"),
        ("signs", "06-11", "19:00", "send_a", "email"),
        ("signs_after_a2", "06-11", "19:00", "send_a", "email"),
        ("ignores", "06-12", "19:00", "send_a2", "email"),
        ("next_day", "06-12", "19:00", "send_a", "email"),
        ("opens", "06-12", "19:00", "send_b", "email"),
        ("signs_after_a2", "06-12", "19:00", "send_a2", "email"),
        ("ignores", "06-13", "19:00", "send_b", "email"),
        ("next_day", "06-13", "19:00", "send_a2", "email"),
        ("next_day", "06-14", "19:00", "send_b", "email"),
    ]
    assert exits(runtime) == {
        "opens": "finished",
        "ignores": "finished",
        "signs": "converted",
        "signs_after_a2": "converted",
        "opts_out": "opted_out",
        "next_day": "finished",
    }
    ended = exit_times(runtime)  # at the wake-ups before A' and before B
    assert (ended["signs"], ended["signs_after_a2"]) == (
        ("converted", "06-12 19:00"),
        ("converted", "06-13 19:00"),
    )
    assert_no_message_twice(runtime)


def test_operators_can_move_the_hour_and_the_wait(runtime, tmp_path):
    """trigger_at 10:00, wait_days 2: A at 10:00; two days later B (opener) or A'; B two days after A'."""
    load(runtime, "F2", write(tmp_path / "f2.csv", [quote("opens"), quote("ignores")]))
    scenario = module.build(merge(module.ID, module.DEFAULTS, {"trigger_at": "10:00", "wait_days": 2}))
    run(runtime, scenario, START, 1)
    engage(runtime, customer_ids(runtime)["opens"], "send_a")
    run(runtime, scenario, START + timedelta(days=1), 5)
    assert timeline(runtime) == [
        ("ignores", "06-11", "10:00", "send_a", "email"),
        ("opens", "06-11", "10:00", "send_a", "email"),
        ("ignores", "06-13", "10:00", "send_a2", "email"),
        ("opens", "06-13", "10:00", "send_b", "email"),
        ("ignores", "06-15", "10:00", "send_b", "email"),
    ]
    assert exits(runtime) == {"opens": "finished", "ignores": "finished"}
