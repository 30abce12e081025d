"""#21 LINE連携促進: the day after LINE member registration, 10:00, A on LINE (email where LINE may not be used);
A' a day later to non-openers; B three days before the 7-day coupon expires (A+4d) to the still unlinked."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from flows import line_link_promotion as module
from flows.dsl import ScenarioError
from flows.engine import TOKYO
from flows.params import merge
from models import LineMembership
from tests.integration.scenario_helpers import (
    assert_no_message_twice,
    customer_ids,
    engage,
    exit_times,
    load,
    person,
    run,
    set_values,
    timeline,
    write,
)


def line_user(code: str) -> str:
    return "U" + code.encode().hex().ljust(32, "0")[:32]


def member(code: str, linked: str = "偽", line_ok: str = "真", registered_on: str = "2026/06/01") -> dict:
    return {
        "line_user_id": line_user(code),
        "email_main": f"{code}@example.com",
        "email_sub": "",
        "email_permitted": "真",
        "customer_id": code,
        "line_permitted": line_ok,
        "line_linked": linked,
        "registered_on": registered_on,
    }


def load_members(runtime, tmp_path, members: list[dict]) -> None:
    customers = [person(m["customer_id"]) for m in members]  # names and codes come from the customer file
    load(runtime, "F5", write(tmp_path / "f5.csv", customers))
    load(runtime, "F7", write(tmp_path / "f7.csv", members))


def test_unlinked_members_get_the_coupon_offer_and_the_expiry_reminder(runtime, tmp_path):
    """The opener and the non-opener get B on A+4d; the one who links meanwhile leaves as converted; a member
    without LINE permission gets the emails; a linked member never enters."""
    members = [
        member("opens"),
        member("ignores"),
        member("links"),
        member("mail", line_ok="偽"),
        member("linked", linked="真"),
    ]
    load_members(runtime, tmp_path, members)
    start = datetime(2026, 6, 2, 0, 0, tzinfo=TOKYO)
    run(runtime, module.SCENARIO, start, 0.5)
    ids = customer_ids(runtime)
    engage(runtime, ids["opens"], "send_a", "tapped_at")
    run(runtime, module.SCENARIO, start + timedelta(hours=12), 2)
    set_values(runtime, LineMembership, LineMembership.customer_id == ids["links"], linked=True)
    run(runtime, module.SCENARIO, start + timedelta(days=2, hours=12), 3)
    assert timeline(runtime) == [
        ("ignores", "06-02", "10:00", "send_a", "line"),
        ("links", "06-02", "10:00", "send_a", "line"),
        ("mail", "06-02", "10:00", "send_a", "email"),
        ("opens", "06-02", "10:00", "send_a", "line"),
        ("ignores", "06-03", "10:00", "send_a2", "line"),
        ("links", "06-03", "10:00", "send_a2", "line"),
        ("mail", "06-03", "10:00", "send_a2", "email"),
        ("ignores", "06-06", "10:00", "send_b", "line"),
        ("mail", "06-06", "10:00", "send_b", "email"),
        ("opens", "06-06", "10:00", "send_b", "line"),
    ]
    assert exit_times(runtime) == {
        "opens": ("finished", "06-06 10:00"),
        "ignores": ("finished", "06-06 10:00"),
        "links": ("converted", "06-06 10:00"),
        "mail": ("finished", "06-06 10:00"),
    }
    assert_no_message_twice(runtime)


def test_a_longer_coupon_moves_the_reminder(runtime, tmp_path):
    """With a 14-day coupon and the reminder 3 days before expiry, B comes at A+11d; a reminder that would fall
    before the re-send is refused with a clear message."""
    load_members(runtime, tmp_path, [member("ignores")])
    scenario = module.build(merge(module.ID, module.DEFAULTS, {"coupon_days": 14}))
    run(runtime, scenario, datetime(2026, 6, 2, 0, 0, tzinfo=TOKYO), 12)
    assert [(day, step) for _, day, _, step, _ in timeline(runtime)] == [
        ("06-02", "send_a"),
        ("06-03", "send_a2"),
        ("06-13", "send_b"),
    ]
    with pytest.raises(ScenarioError, match="must come after the re-send"):
        module.build(merge(module.ID, module.DEFAULTS, {"coupon_days": 4}))
