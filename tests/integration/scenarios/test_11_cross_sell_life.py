"""#11 生命保険契約者へのクロスセル促進シナリオ over an imported F5 file: life-insurance holders who hold no
non-life insurance enter on the 1st at 10:00; the goal is contracting non-life insurance (損害保険契約フラグ),
not the generic contract flag; monthly re-entry one run at a time."""

from __future__ import annotations

from datetime import datetime

from flows import cross_sell_life as module
from flows.engine import TOKYO
from flows.params import merge
from models import ContractSummary, CustomerChannels
from tests.integration.scenario_helpers import (
    assert_no_message_twice,
    customer_ids,
    engage,
    exits,
    load,
    person,
    run,
    set_values,
    timeline,
    write,
)


def holder(code: str, life: str = "真", non_life: str = "偽", **channels: str) -> dict[str, str]:
    """An F5 row: a contract holder reachable by email, with the given life / non-life flags."""
    row = person(code, email=f"{code}@example.com", email_ok=channels.pop("email_ok", "真"), contracted="真")
    return row | {"life_contracted": life, "non_life_contracted": non_life}


def test_life_holders_get_the_non_life_offer_and_leave_once_they_contract_it(runtime, tmp_path):
    """A on the 1st at 10:00, B the next day (opened) or A' then B; contracting non-life ends the flow as converted;
    holders of both, non-life-only holders and the unconsented never enter; unsubscribing opts out; next month
    the finished re-enter and the converted do not."""
    rows = [
        holder("opens"),
        holder("ignores"),
        holder("buys"),
        holder("quits"),
        holder("both", non_life="真"),
        holder("non_life_only", life="偽", non_life="真"),
        holder("no_consent", email_ok="偽"),
    ]
    load(runtime, "F5", write(tmp_path / "f5.csv", rows))
    ids = customer_ids(runtime)
    run(runtime, module.SCENARIO, datetime(2026, 6, 1, 0, 0, tzinfo=TOKYO), 1)
    engage(runtime, ids["opens"], "send_a", "clicked_at")
    set_values(runtime, ContractSummary, ContractSummary.customer_id == ids["buys"], non_life=True)
    set_values(runtime, CustomerChannels, CustomerChannels.customer_id == ids["quits"], email_permitted=False)
    run(runtime, module.SCENARIO, datetime(2026, 6, 2, 0, 0, tzinfo=TOKYO), 3)
    assert timeline(runtime) == [
        ("buys", "06-01", "10:00", "send_a", "email"),
        ("ignores", "06-01", "10:00", "send_a", "email"),
        ("opens", "06-01", "10:00", "send_a", "email"),
        ("quits", "06-01", "10:00", "send_a", "email"),
        ("ignores", "06-02", "10:00", "send_a2", "email"),
        ("opens", "06-02", "10:00", "send_b", "email"),
        ("ignores", "06-03", "10:00", "send_b", "email"),  # 契約フラグ is true all along: not the goal
    ]
    assert exits(runtime) == {
        "buys": "converted",
        "ignores": "finished",
        "opens": "finished",
        "quits": "opted_out",
    }
    run(runtime, module.SCENARIO, datetime(2026, 7, 1, 0, 0, tzinfo=TOKYO), 1)
    assert timeline(runtime)[7:] == [
        ("ignores", "07-01", "10:00", "send_a", "email"),
        ("opens", "07-01", "10:00", "send_a", "email"),
    ]  # "buys" now holds both: nothing left to cross-sell
    assert_no_message_twice(runtime)


def test_a_customer_still_in_last_months_run_is_not_entered_again(runtime, tmp_path):
    """wait_days 20 stretches a run past the next 1st: the opener (finished on 21 June) re-enters on 1 July, the
    non-opener (B due 11 July) does not."""
    scenario = module.build(merge(module.ID, module.DEFAULTS, {"wait_days": 20}))
    load(runtime, "F5", write(tmp_path / "f5.csv", [holder("opens"), holder("ignores")]))
    ids = customer_ids(runtime)
    run(runtime, scenario, datetime(2026, 6, 1, 10, 0, tzinfo=TOKYO), 1)
    engage(runtime, ids["opens"], "send_a", "opened_at")
    run(runtime, scenario, datetime(2026, 6, 2, 10, 0, tzinfo=TOKYO), 41)
    assert timeline(runtime) == [
        ("ignores", "06-01", "10:00", "send_a", "email"),
        ("opens", "06-01", "10:00", "send_a", "email"),
        ("ignores", "06-21", "10:00", "send_a2", "email"),
        ("opens", "06-21", "10:00", "send_b", "email"),
        ("opens", "07-01", "10:00", "send_a", "email"),
        ("ignores", "07-11", "10:00", "send_b", "email"),
    ]
    assert_no_message_twice(runtime)


def test_changed_settings_move_the_monthly_trigger(runtime, tmp_path):
    """trigger_day 15 at 19:00: nothing on the 1st; A on the 15th at 19:00, A' and B on the following days."""
    scenario = module.build(merge(module.ID, module.DEFAULTS, {"trigger_day": 15, "trigger_at": "19:00"}))
    load(runtime, "F5", write(tmp_path / "f5.csv", [holder("later")]))
    run(runtime, scenario, datetime(2026, 6, 1, 0, 0, tzinfo=TOKYO), 1)
    run(runtime, scenario, datetime(2026, 6, 15, 0, 0, tzinfo=TOKYO), 3)
    assert timeline(runtime) == [
        ("later", "06-15", "19:00", "send_a", "email"),
        ("later", "06-16", "19:00", "send_a2", "email"),
        ("later", "06-17", "19:00", "send_b", "email"),
    ]
    assert exits(runtime) == {"later": "finished"}
