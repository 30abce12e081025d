"""#9 サイト閲覧者への契約促進: the day after browsing, 10:00, A; a day later B to openers still uncontracted,
A' to the rest; one entry per customer and Japan day, however many pages; a contract ends the flow."""

from __future__ import annotations

from datetime import datetime, timedelta

from flows import site_browser_followup as module
from flows.engine import TOKYO
from flows.params import merge
from models import ContractSummary
from tests.integration.scenario_helpers import (
    assert_no_message_twice,
    customer_ids,
    engage,
    exit_times,
    load,
    run,
    set_values,
    timeline,
    write,
)


def view(log: str, code: str, at: str, contracted: str = "偽", email_ok: str = "真") -> dict[str, str]:
    return {
        "access_log_id": log,
        "email_main": f"{code}@example.com",
        "email_permitted": email_ok,
        "customer_id": code,
        "contracted": contracted,
        "page_title": "医療保険の保障内容",
        "page_url": "https://www.example.jp/products/medical",
        "viewed_at": at,
        "family_name": "山田",
        "given_name": code,
    }


def test_site_browsers_get_a_then_b_or_a2_and_a_contract_ends_it(runtime, tmp_path):
    """Three views in a day make one entry; the opener gets B, the others A'; a view at 00:30 JST counts for
    that Japan day; contracted customers and those without permission never enter."""
    rows = [
        view("L1", "opens", "2026/06/01 09:00"),
        view("L2", "opens", "2026/06/01 09:05"),
        view("L3", "opens", "2026/06/01 21:40"),
        view("L4", "ignores", "2026/06/01 12:00"),
        view("L5", "signs", "2026/06/01 13:00"),
        view("L6", "late", "2026/06/02 00:30"),
        view("L7", "holder", "2026/06/01 10:00", contracted="真"),
        view("L8", "silent", "2026/06/01 10:00", email_ok="偽"),
    ]
    load(runtime, "F4", write(tmp_path / "f4.csv", rows))
    start = datetime(2026, 6, 2, 0, 0, tzinfo=TOKYO)
    run(runtime, module.SCENARIO, start, 0.5)  # through 06-02 12:00
    ids = customer_ids(runtime)
    engage(runtime, ids["opens"], "send_a")
    set_values(runtime, ContractSummary, ContractSummary.customer_id == ids["signs"], contracted=True)
    run(runtime, module.SCENARIO, start + timedelta(hours=12), 3)
    assert timeline(runtime) == [
        ("ignores", "06-02", "10:00", "send_a", "email"),
        ("opens", "06-02", "10:00", "send_a", "email"),
        ("signs", "06-02", "10:00", "send_a", "email"),
        ("ignores", "06-03", "10:00", "send_a2", "email"),
        ("late", "06-03", "10:00", "send_a", "email"),
        ("opens", "06-03", "10:00", "send_b", "email"),
        ("late", "06-04", "10:00", "send_a2", "email"),
    ]
    assert exit_times(runtime) == {
        "opens": ("finished", "06-03 10:00"),
        "ignores": ("finished", "06-03 10:00"),
        "signs": ("converted", "06-03 10:00"),  # at the wake-up after the contract, before A'
        "late": ("finished", "06-04 10:00"),
    }
    assert_no_message_twice(runtime)


def test_operators_can_move_the_hour_and_the_wait(runtime, tmp_path):
    """With trigger_at 18:00 and wait_days 2, A goes at 18:00 the next day and A' two days later."""
    load(runtime, "F4", write(tmp_path / "f4.csv", [view("L1", "ignores", "2026/06/01 12:00")]))
    scenario = module.build(merge(module.ID, module.DEFAULTS, {"trigger_at": "18:00", "wait_days": 2}))
    run(runtime, scenario, datetime(2026, 6, 2, 0, 0, tzinfo=TOKYO), 4)
    assert timeline(runtime) == [
        ("ignores", "06-02", "18:00", "send_a", "email"),
        ("ignores", "06-04", "18:00", "send_a2", "email"),
    ]
