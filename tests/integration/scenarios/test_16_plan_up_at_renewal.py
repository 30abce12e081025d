"""#16 契約更新時のプランアップ促進: A 30 days before the next renewal at 19:00, A' three days later if unopened; run
with #14 (same trigger, higher priority), the daily cap holds #16's message to the next evening."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from flows import plan_up_at_renewal as module
from flows import renewal_reminder
from flows.engine import TOKYO
from flows.params import merge
from models import Customer, CustomerChannels, Delivery, Enrollment, TraceEntry
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

RENEWAL = "2026/07/31"
TRIGGER_DAY = datetime(2026, 7, 1, 12, 0, tzinfo=TOKYO)  # renewal−30d


def test_a_thirty_days_before_renewal_and_a2_to_non_openers(runtime, tmp_path):
    """Customers renewing on 31 July get A on 1 July 19:00 and A' on 4 July unless they opened it; a later
    renewal date or no permission means no entry; withdrawing permission after A ends the run as opted out."""
    rows = [
        person("opens", email="opens@example.com", email_ok="真", renewal=RENEWAL),
        person("ignores", line=LINE_ID, line_ok="真", renewal=RENEWAL),
        person("leaves", email="leaves@example.com", email_ok="真", renewal=RENEWAL),
        person("later", email="later@example.com", email_ok="真", renewal="2026/08/15"),
        person("silent", email="silent@example.com", email_ok="偽", renewal=RENEWAL),
    ]
    load(runtime, "F5", write(tmp_path / "f5.csv", rows))
    ids = customer_ids(runtime)
    run(runtime, module.SCENARIO, TRIGGER_DAY, 1)
    engage(runtime, ids["opens"], "send_a", "clicked_at")
    set_values(
        runtime, CustomerChannels, CustomerChannels.customer_id == ids["leaves"], email_permitted=False
    )
    run(runtime, module.SCENARIO, TRIGGER_DAY + timedelta(days=1), 4)
    assert timeline(runtime) == [
        ("ignores", "07-01", "19:00", "send_a", "line"),
        ("leaves", "07-01", "19:00", "send_a", "email"),
        ("opens", "07-01", "19:00", "send_a", "email"),
        ("ignores", "07-04", "19:00", "send_a2", "line"),
    ]
    assert exits(runtime) == {"opens": "finished", "ignores": "finished", "leaves": "opted_out"}
    assert_no_message_twice(runtime)


def scenario_rows(runtime) -> list[tuple[str, str, str, str, str]]:
    """[(customer code, scenario, step, ledger status, JST "MM-DD HH:MM")] in time order."""
    with runtime.engine.connect() as connection:
        rows = connection.execute(
            select(
                Customer.given_name, Enrollment.scenario_id, Delivery.step, Delivery.status, Delivery.due_at
            )
            .join(Enrollment, Enrollment.id == Delivery.enrollment_id)
            .join(Customer, Customer.id == Delivery.customer_id)
            .order_by(Delivery.due_at, Customer.given_name, Enrollment.scenario_id)
        ).all()
    return [
        (c, s, step, status, due.astimezone(TOKYO).strftime("%m-%d %H:%M"))
        for c, s, step, status, due in rows
    ]


def test_with_the_renewal_reminder_the_daily_cap_holds_plan_up_to_the_next_day(runtime, tmp_path):
    """Both scenarios ticked together: #14 (priority 10) sends A on 1 July 19:00, #16 (priority 20) is held to
    2 July 19:00 by the daily cap; the A's follow at the same distances, the weekly cap (3 in 7 days) holding
    #16's A' until 1 July's message leaves the week."""
    assert renewal_reminder.SCENARIO.priority < module.SCENARIO.priority
    rows = [
        person("both", email="both@example.com", email_ok="真", renewal=RENEWAL),
        person("opens", email="opens@example.com", email_ok="真", renewal=RENEWAL),
    ]
    load(runtime, "F5", write(tmp_path / "f5.csv", rows))
    ids = customer_ids(runtime)
    scenarios = {s.id: s for s in (module.SCENARIO, renewal_reminder.SCENARIO)}  # #16 listed first on purpose
    run(runtime, scenarios, TRIGGER_DAY, 1)
    engage(runtime, ids["opens"], "send_a", "opened_at")  # after both A's are recorded
    run(runtime, scenarios, TRIGGER_DAY + timedelta(days=1), 7)
    assert scenario_rows(runtime) == [
        ("both", "renewal_reminder", "send_a", "queued", "07-01 19:00"),
        ("opens", "renewal_reminder", "send_a", "queued", "07-01 19:00"),
        ("both", "plan_up_at_renewal", "send_a", "held", "07-02 19:00"),
        ("opens", "plan_up_at_renewal", "send_a", "held", "07-02 19:00"),
        ("both", "renewal_reminder", "send_a2", "queued", "07-04 19:00"),
        ("both", "plan_up_at_renewal", "send_a2", "held", "07-08 19:00"),
    ]
    with runtime.engine.connect() as connection:
        reasons = connection.execute(
            select(TraceEntry.details["reasons"].as_string())
            .where(TraceEntry.code == "held", TraceEntry.scenario_id == module.ID)
            .order_by(TraceEntry.id)
        ).scalars()
        assert list(reasons) == ["frequency_cap"] * 3
    assert exits(runtime) == {"both": "finished", "opens": "finished"}
    assert_no_message_twice(runtime)


def test_operators_can_move_the_offset_the_hour_and_the_wait(runtime, tmp_path):
    """With days_before_renewal 45, trigger_at 10:00 and wait_days 2: A on 16 June 10:00, A' on 18 June."""
    load(
        runtime,
        "F5",
        write(tmp_path / "f5.csv", [person("x", email="x@example.com", email_ok="真", renewal=RENEWAL)]),
    )
    changes = {"days_before_renewal": 45, "trigger_at": "10:00", "wait_days": 2}
    scenario = module.build(merge(module.ID, module.DEFAULTS, changes))
    run(runtime, scenario, datetime(2026, 6, 15, 0, 0, tzinfo=TOKYO), 4)
    assert timeline(runtime) == [
        ("x", "06-16", "10:00", "send_a", "email"),
        ("x", "06-18", "10:00", "send_a2", "email"),
    ]
