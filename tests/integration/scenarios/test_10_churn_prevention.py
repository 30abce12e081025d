"""#10 解約手続きページ閲覧者への解約防止: policyholders who viewed the cancellation page get A the next day at
10:00, A' a day later if unopened, and the policyholder campaign B only while still under contract."""

from __future__ import annotations

from datetime import datetime, timedelta

from flows import churn_prevention as module
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

CANCEL_PAGE = "https://www.example.jp/mypage/cancel/confirm"


def view(log: str, code: str, url: str = CANCEL_PAGE, contracted: str = "真") -> dict[str, str]:
    return {
        "access_log_id": log,
        "line_user_id": "U" + code.encode().hex().ljust(32, "0")[:32],
        "line_permitted": "真",
        "customer_id": code,
        "contracted": contracted,
        "page_title": "解約のお手続き",
        "page_url": url,
        "viewed_at": "2026/06/01 20:15",
        "family_name": "佐藤",
        "given_name": code,
    }


def test_b_goes_only_to_those_still_under_contract(runtime, tmp_path):
    """The opener gets B at A+1d; the non-opener A' then B at A+2d; one who cancels meanwhile leaves as
    cancelled with neither A' nor B; other pages and prospects never enter."""
    rows = [
        view("L1", "stays"),
        view("L2", "ignores"),
        view("L3", "leaves"),
        view("L4", "browser", url="https://www.example.jp/products/medical"),
        view("L5", "prospect", contracted="偽"),
    ]
    load(runtime, "F4", write(tmp_path / "f4.csv", rows))
    start = datetime(2026, 6, 2, 0, 0, tzinfo=TOKYO)
    run(runtime, module.SCENARIO, start, 0.5)
    ids = customer_ids(runtime)
    engage(runtime, ids["stays"], "send_a", "tapped_at")  # LINE reports no reads: a tap shows it was seen
    set_values(runtime, ContractSummary, ContractSummary.customer_id == ids["leaves"], contracted=False)
    run(runtime, module.SCENARIO, start + timedelta(hours=12), 3)
    assert timeline(runtime) == [
        ("ignores", "06-02", "10:00", "send_a", "line"),
        ("leaves", "06-02", "10:00", "send_a", "line"),
        ("stays", "06-02", "10:00", "send_a", "line"),
        ("ignores", "06-03", "10:00", "send_a2", "line"),
        ("stays", "06-03", "10:00", "send_b", "line"),
        ("ignores", "06-04", "10:00", "send_b", "line"),
    ]
    assert exit_times(runtime) == {
        "stays": ("finished", "06-03 10:00"),
        "ignores": ("finished", "06-04 10:00"),
        "leaves": ("cancelled", "06-03 10:00"),
    }
    assert_no_message_twice(runtime)


def test_the_cancellation_page_is_the_insurers_own_setting(runtime, tmp_path):
    """With cancellation_page_url set to /kaiyaku, only views of that page bring policyholders in."""
    rows = [view("L1", "default_page"), view("L2", "own_page", url="https://www.example.jp/kaiyaku/")]
    load(runtime, "F4", write(tmp_path / "f4.csv", rows))
    scenario = module.build(merge(module.ID, module.DEFAULTS, {"cancellation_page_url": "/kaiyaku"}))
    run(runtime, scenario, datetime(2026, 6, 2, 0, 0, tzinfo=TOKYO), 1)
    assert timeline(runtime) == [("own_page", "06-02", "10:00", "send_a", "line")]
