"""#12 損害保険契約者へのクロスセル促進シナリオ over an imported F5 file, the mirror of #11: non-life holders who
hold no life insurance enter on the 1st at 10:00; the goal is contracting life insurance (生命保険契約フラグ)."""

from __future__ import annotations

from datetime import datetime

from flows import cross_sell_non_life as module
from flows.engine import TOKYO
from flows.params import merge
from models import ContractSummary
from tests.integration.scenario_helpers import (
    LINE_ID,
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


def holder(code: str, life: str = "偽", non_life: str = "真", **channels: str) -> dict[str, str]:
    """An F5 row: a contract holder reachable by email (and LINE if given), with the given flags."""
    row = person(code, email=f"{code}@example.com", email_ok="真", contracted="真", **channels)
    return row | {"life_contracted": life, "non_life_contracted": non_life}


def test_non_life_holders_get_the_life_offer_and_leave_once_they_contract_it(runtime, tmp_path):
    """A on the 1st at 10:00, B the next day (tapped on LINE) or A' then B; contracting life insurance ends the
    flow as converted; holders of both and life-only holders never enter."""
    rows = [
        holder("taps", line=LINE_ID, line_ok="真"),
        holder("ignores"),
        holder("buys"),
        holder("both", life="真"),
        holder("life_only", life="真", non_life="偽"),
    ]
    load(runtime, "F5", write(tmp_path / "f5.csv", rows))
    ids = customer_ids(runtime)
    run(runtime, module.SCENARIO, datetime(2026, 6, 1, 0, 0, tzinfo=TOKYO), 1)
    engage(runtime, ids["taps"], "send_a", "tapped_at")
    set_values(runtime, ContractSummary, ContractSummary.customer_id == ids["buys"], life=True)
    run(runtime, module.SCENARIO, datetime(2026, 6, 2, 0, 0, tzinfo=TOKYO), 3)
    assert timeline(runtime) == [
        ("buys", "06-01", "10:00", "send_a", "email"),
        ("ignores", "06-01", "10:00", "send_a", "email"),
        ("taps", "06-01", "10:00", "send_a", "line"),
        ("ignores", "06-02", "10:00", "send_a2", "email"),
        ("taps", "06-02", "10:00", "send_b", "line"),
        ("ignores", "06-03", "10:00", "send_b", "email"),
    ]
    assert exits(runtime) == {"buys": "converted", "ignores": "finished", "taps": "finished"}
    assert_no_message_twice(runtime)


def test_another_non_life_contract_is_not_the_goal(runtime, tmp_path):
    """Only life insurance converts: a holder who takes out another non-life product mid-flow carries on."""
    load(runtime, "F5", write(tmp_path / "f5.csv", [holder("stays")]))
    ids = customer_ids(runtime)
    run(runtime, module.SCENARIO, datetime(2026, 6, 1, 0, 0, tzinfo=TOKYO), 1)
    set_values(
        runtime,
        ContractSummary,
        ContractSummary.customer_id == ids["stays"],
        current_product_type_code="NL-FIRE",
        renewal_count=1,
    )
    run(runtime, module.SCENARIO, datetime(2026, 6, 2, 0, 0, tzinfo=TOKYO), 2)
    assert [step for _, _, _, step, _ in timeline(runtime)] == ["send_a", "send_a2", "send_b"]
    assert exits(runtime) == {"stays": "finished"}


def test_changed_settings_move_the_monthly_trigger_and_the_wait(runtime, tmp_path):
    """trigger_day 10 at 12:30, wait_days 2: A on the 10th, A' on the 12th, B on the 14th, all at 12:30."""
    scenario = module.build(
        merge(module.ID, module.DEFAULTS, {"trigger_day": 10, "trigger_at": "12:30", "wait_days": 2})
    )
    load(runtime, "F5", write(tmp_path / "f5.csv", [holder("later")]))
    run(runtime, scenario, datetime(2026, 6, 10, 0, 0, tzinfo=TOKYO), 5)
    assert timeline(runtime) == [
        ("later", "06-10", "12:30", "send_a", "email"),
        ("later", "06-12", "12:30", "send_a2", "email"),
        ("later", "06-14", "12:30", "send_b", "email"),
    ]
    assert exits(runtime) == {"later": "finished"}
