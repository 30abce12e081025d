"""#18 契約者限定サービス利用促進: policyholders get A on the 1st of every month at 10:00 and A' three days later if
they did not open it; they enter again next month, but not while the previous month's run is still going."""

from __future__ import annotations

from datetime import datetime, timedelta

from flows import member_service as module
from flows.engine import TOKYO
from flows.params import merge
from models import CustomerChannels
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

JULY_1 = datetime(2026, 7, 1, 0, 0, tzinfo=TOKYO)
AUGUST_1 = datetime(2026, 8, 1, 0, 0, tzinfo=TOKYO)


def test_policyholders_get_a_on_the_first_and_a2_if_unopened_every_month(runtime, tmp_path):
    """A on 1 July 10:00 to policyholders (SMS where it is their only channel), A' on 4 July to non-openers; no
    entry for prospects or without permission; LINE withdrawn after A ends that run as opted out; on 1 August
    everyone still permitted enters again."""
    holder = {"contracted": "真"}
    rows = [
        person("opens", email="opens@example.com", email_ok="真", **holder),
        person("ignores", sms="090-1111-2222", sms_ok="真", **holder),
        person("leaves", line=LINE_ID, line_ok="真", **holder),
        person("prospect", email="prospect@example.com", email_ok="真"),
        person("silent", email="silent@example.com", email_ok="偽", **holder),
    ]
    load(runtime, "F5", write(tmp_path / "f5.csv", rows))
    ids = customer_ids(runtime)
    run(runtime, module.SCENARIO, JULY_1, 1)
    engage(runtime, ids["opens"], "send_a", "opened_at")
    set_values(runtime, CustomerChannels, CustomerChannels.customer_id == ids["leaves"], line_permitted=False)
    run(runtime, module.SCENARIO, JULY_1 + timedelta(days=1), 4)
    assert exits(runtime) == {"opens": "finished", "ignores": "finished", "leaves": "opted_out"}
    run(runtime, module.SCENARIO, AUGUST_1, 1)
    assert timeline(runtime) == [
        ("ignores", "07-01", "10:00", "send_a", "sms"),
        ("leaves", "07-01", "10:00", "send_a", "line"),
        ("opens", "07-01", "10:00", "send_a", "email"),
        ("ignores", "07-04", "10:00", "send_a2", "sms"),
        ("ignores", "08-01", "10:00", "send_a", "sms"),
        ("opens", "08-01", "10:00", "send_a", "email"),
    ]
    assert_no_message_twice(runtime)


def test_operators_can_move_the_day_the_hour_and_the_wait(runtime, tmp_path):
    """With trigger_day 15, trigger_at 12:00 and wait_days 5: A on 15 July 12:00, A' on 20 July 12:00."""
    load(
        runtime,
        "F5",
        write(tmp_path / "f5.csv", [person("x", email="x@example.com", email_ok="真", contracted="真")]),
    )
    changes = {"trigger_day": 15, "trigger_at": "12:00", "wait_days": 5}
    scenario = module.build(merge(module.ID, module.DEFAULTS, changes))
    run(runtime, scenario, JULY_1 + timedelta(days=14), 6)
    assert timeline(runtime) == [
        ("x", "07-15", "12:00", "send_a", "email"),
        ("x", "07-20", "12:00", "send_a2", "email"),
    ]


def test_a_run_still_going_on_the_first_keeps_the_customer_out_that_month(runtime, tmp_path):
    """With wait_days 31, A' of the July run is due on 1 August 10:00: the trigger finds the customer still in
    that run, so August brings A' only, not a new A."""
    load(
        runtime,
        "F5",
        write(tmp_path / "f5.csv", [person("x", email="x@example.com", email_ok="真", contracted="真")]),
    )
    scenario = module.build(merge(module.ID, module.DEFAULTS, {"wait_days": 31}))
    run(runtime, scenario, JULY_1, 1)
    run(runtime, scenario, AUGUST_1, 1)
    assert timeline(runtime) == [
        ("x", "07-01", "10:00", "send_a", "email"),
        ("x", "08-01", "10:00", "send_a2", "email"),
    ]
    assert exits(runtime) == {"x": "finished"}
