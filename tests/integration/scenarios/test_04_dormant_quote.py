"""#4 見積もり後休眠顧客への契約促進: 60 days after a quote, 19:00, A; at A+3d B to openers, A' to the rest and B
three days later; at B+3d B' to those who did not open B; C the day before the 7-day campaign ends (B+6d); a
contract ends the flow at any point."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from flows import dormant_quote as module
from flows.dsl import ScenarioError
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

START = datetime(2026, 5, 31, 0, 0, tzinfo=TOKYO)  # 60 days after 1 April
LINE_ID = "U" + "d" * 32


def quote(code: str, quoted_on: str = "2026/04/01", **fields: str) -> dict[str, str]:
    """An F2 row of a prospect known by email (given name = code); `line` adds a permitted LINE ID."""
    line = fields.get("line", "")
    return {
        "quote_id": f"Q-{code}",
        "email_main": f"{code}@example.com",
        "email_permitted": fields.get("email_ok", "真"),
        "line_user_id": line,
        "line_permitted": "真" if line else "偽",
        "quoted_on": quoted_on,
        "contracted": fields.get("contracted", "偽"),
        "family_name": "佐藤",
        "given_name": code,
    }


def signs(runtime, code: str) -> None:
    set_values(runtime, Quote, Quote.quote_code == f"Q-{code}", contracted=True)


def test_dormant_quotes_follow_the_decks_campaign_timeline(runtime, tmp_path):
    """Openers get A, B, C; others A, A', B, B', C; a contract converts at the next wake-up; opt-out stops."""
    rows = [
        quote("opens", line=LINE_ID),
        quote("ignores"),
        quote("signs"),
        quote("signs_in_campaign"),
        quote("opts_out"),
        quote("holder", contracted="真"),
        quote("silent", email_ok="偽"),
        quote("not_yet", quoted_on="2026/05/01"),
    ]
    load(runtime, "F2", write(tmp_path / "f2.csv", rows))
    run(runtime, module.SCENARIO, START, 1)
    ids = customer_ids(runtime)
    engage(runtime, ids["opens"], "send_a", "tapped_at")  # LINE reports no reads: a tap counts as opened
    engage(runtime, ids["signs_in_campaign"], "send_a")
    signs(runtime, "signs")
    set_values(
        runtime, CustomerChannels, CustomerChannels.customer_id == ids["opts_out"], email_permitted=False
    )
    run(runtime, module.SCENARIO, START + timedelta(days=1), 3)
    engage(runtime, ids["opens"], "send_b", "clicked_at")
    signs(runtime, "signs_in_campaign")
    run(runtime, module.SCENARIO, START + timedelta(days=4), 10)
    assert timeline(runtime) == [
        ("ignores", "05-31", "19:00", "send_a", "email"),
        ("opens", "05-31", "19:00", "send_a", "line"),  # LINE first on the ladder
        ("opts_out", "05-31", "19:00", "send_a", "email"),
        ("signs", "05-31", "19:00", "send_a", "email"),
        ("signs_in_campaign", "05-31", "19:00", "send_a", "email"),
        ("ignores", "06-03", "19:00", "send_a2", "email"),
        ("opens", "06-03", "19:00", "send_b", "line"),
        ("signs_in_campaign", "06-03", "19:00", "send_b", "email"),
        ("ignores", "06-06", "19:00", "send_b", "email"),
        ("ignores", "06-09", "19:00", "send_b2", "email"),
        ("opens", "06-09", "19:00", "send_c", "line"),  # B+6d: the day before a 7-day campaign ends
        ("ignores", "06-12", "19:00", "send_c", "email"),
    ]
    assert exits(runtime) == {
        "opens": "finished",
        "ignores": "finished",
        "signs": "converted",
        "signs_in_campaign": "converted",
        "opts_out": "opted_out",
    }
    ended = exit_times(runtime)  # at the wake-ups before A' (A+3d) and before C (B+3d), not later
    assert (ended["signs"], ended["signs_in_campaign"]) == (
        ("converted", "06-03 19:00"),
        ("converted", "06-06 19:00"),
    )
    assert_no_message_twice(runtime)


def test_operators_can_change_the_trigger_the_waits_and_the_campaign(runtime, tmp_path):
    """45 days, 18:00, waits of 2 days, a 10-day campaign: A, A', B, B' (held a day by the cap), C at B+9d."""
    load(runtime, "F2", write(tmp_path / "f2.csv", [quote("ignores", quoted_on="2026/04/16")]))
    settings = {"trigger_days": 45, "trigger_at": "18:00", "wait_days": 2, "campaign_days": 10}
    scenario = module.build(merge(module.ID, module.DEFAULTS, settings))
    run(runtime, scenario, START, 15)
    assert timeline(runtime) == [
        ("ignores", "05-31", "18:00", "send_a", "email"),
        ("ignores", "06-02", "18:00", "send_a2", "email"),
        ("ignores", "06-04", "18:00", "send_b", "email"),
        # B' at B+2d would be the fourth message in a week: the weekly cap (3) holds it a day
        ("ignores", "06-07", "18:00", "send_b2", "email"),
        ("ignores", "06-13", "18:00", "send_c", "email"),
    ]
    assert exits(runtime) == {"ignores": "finished"}


def test_the_reminder_must_come_after_the_re_send():
    """A campaign too short for B' to go before C is refused with a message that says why."""
    with pytest.raises(ScenarioError, match="B' before C"):
        module.build(merge(module.ID, module.DEFAULTS, {"wait_days": 5, "campaign_days": 6}))
