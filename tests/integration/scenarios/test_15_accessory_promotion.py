"""#15 付属商品購入促進: policyholders get A on the 1st and 3rd Friday at 10:00 and A' three days later if they did
not open it; nobody enters on other Fridays, and nobody enters again while a previous run is still going."""

from __future__ import annotations

from datetime import datetime, timedelta

from flows import accessory_promotion as module
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

FIRST_FRIDAY = datetime(2026, 6, 5, 0, 0, tzinfo=TOKYO)  # June 2026: Fridays 5, 12, 19, 26


def test_policyholders_get_a_on_the_first_and_third_friday_and_a2_if_unopened(runtime, tmp_path):
    """A at 10:00 on 5 and 19 June (not 12 June); A' on Monday to non-openers; prospects and customers without
    permission never enter; withdrawing the only permission after A ends the run as opted out."""
    holder = {"contracted": "真"}
    rows = [
        person("opens", email="opens@example.com", email_ok="真", **holder),
        person("ignores", line=LINE_ID, line_ok="真", email="ignores@example.com", email_ok="真", **holder),
        person("leaves", email="leaves@example.com", email_ok="真", **holder),
        person("prospect", email="prospect@example.com", email_ok="真"),
        person("silent", email="silent@example.com", email_ok="偽", **holder),
    ]
    load(runtime, "F5", write(tmp_path / "f5.csv", rows))
    ids = customer_ids(runtime)
    run(runtime, module.SCENARIO, FIRST_FRIDAY, 1)
    engage(runtime, ids["opens"], "send_a", "opened_at")
    set_values(
        runtime, CustomerChannels, CustomerChannels.customer_id == ids["leaves"], email_permitted=False
    )
    run(runtime, module.SCENARIO, FIRST_FRIDAY + timedelta(days=1), 3)
    assert exits(runtime) == {"opens": "finished", "ignores": "finished", "leaves": "opted_out"}
    run(runtime, module.SCENARIO, FIRST_FRIDAY + timedelta(days=7), 1)  # the 2nd Friday: nobody
    run(runtime, module.SCENARIO, FIRST_FRIDAY + timedelta(days=14), 4)
    assert timeline(runtime) == [
        ("ignores", "06-05", "10:00", "send_a", "line"),
        ("leaves", "06-05", "10:00", "send_a", "email"),
        ("opens", "06-05", "10:00", "send_a", "email"),
        ("ignores", "06-08", "10:00", "send_a2", "line"),
        ("ignores", "06-19", "10:00", "send_a", "line"),
        ("opens", "06-19", "10:00", "send_a", "email"),
        ("ignores", "06-22", "10:00", "send_a2", "line"),
        ("opens", "06-22", "10:00", "send_a2", "email"),  # this run's A was not opened
    ]
    assert_no_message_twice(runtime)


def test_a_customer_still_in_the_last_run_is_not_entered_again(runtime, tmp_path):
    """With trigger_at 12:00 and wait_days 15, A' of the 5 June run falls on 20 June: the customer is not
    entered on 19 June, and enters again on the first Friday of July once that run has ended."""
    rows = [person("x", email="x@example.com", email_ok="真", contracted="真")]
    load(runtime, "F5", write(tmp_path / "f5.csv", rows))
    scenario = module.build(merge(module.ID, module.DEFAULTS, {"trigger_at": "12:00", "wait_days": 15}))
    run(runtime, scenario, FIRST_FRIDAY, 1)
    run(runtime, scenario, FIRST_FRIDAY + timedelta(days=14), 2)
    run(runtime, scenario, datetime(2026, 7, 3, 0, 0, tzinfo=TOKYO), 1)
    assert timeline(runtime) == [
        ("x", "06-05", "12:00", "send_a", "email"),
        ("x", "06-20", "12:00", "send_a2", "email"),
        ("x", "07-03", "12:00", "send_a", "email"),
    ]
    assert_no_message_twice(runtime)
