"""The wake-ups the timeline tests tick at: each trigger's next firing, the earliest enrollment wake-up, and proof
that ticking only then gives the same ledger, exits and trace as ticking every 30 minutes."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import delete, select, update

from bot.scenarios.controls import set_paused
from bot.scenarios.runner import advance_due
from bot.scenarios.triggers import enrol_due
from bot.scenarios.wakeups import next_firing, next_wakeup
from devtools.demo import load_files
from flows.catalog import SCENARIOS, build_catalog
from flows.dsl import MonthlyOn, NthWeekdays, OnDate, OnEvent, RelativeTo
from flows.engine import TOKYO
from models import Delivery, Enrollment, TraceEntry, TriggerRun
from tests.integration.scenario_helpers import load, person, run, write


def jst(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TOKYO)


@pytest.mark.parametrize(
    ("trigger", "after", "expected"),
    [
        (RelativeTo("contract.next_renewal_on", -30, "19:00"), "2026-07-01 18:59", "2026-07-01 19:00"),
        (RelativeTo("contract.next_renewal_on", -30, "19:00"), "2026-07-01 19:00", "2026-07-02 19:00"),
        (MonthlyOn(1, "10:00"), "2026-06-01 10:00", "2026-07-01 10:00"),
        (MonthlyOn(28, "10:00"), "2026-02-28 09:00", "2026-02-28 10:00"),
        (NthWeekdays((1, 3), 4, "10:00"), "2026-07-03 10:00", "2026-07-17 10:00"),  # 1st and 3rd Friday
        (NthWeekdays((5,), 4, "10:00"), "2026-06-01 00:00", "2026-07-31 10:00"),  # June has four Fridays
        (OnDate("2026-08-01", "10:00"), "2026-07-31 23:00", "2026-08-01 10:00"),
        (OnDate("2026-08-01", "10:00"), "2026-08-01 10:00", None),
        (OnDate(None, "10:00"), "2026-07-01 00:00", None),
        (OnEvent("linked"), "2026-07-01 00:00", None),
    ],
)
def test_each_trigger_fires_next_at_its_own_hour_and_day(trigger, after, expected):
    """The first firing strictly after a moment: a date trigger daily, calendar ones on their days, none again."""
    assert next_firing(trigger, jst(after)) == (jst(expected) if expected else None)


def test_the_next_wake_up_is_the_earliest_firing_or_enrollment_wake_up(runtime, tmp_path):
    """Before 19:00 the trigger; after it the next day's firing; without a trigger the enrollment's wait (A+3d),
    seen inside the transaction that advanced it (a simulation's); a paused scenario never wakes."""
    load(
        runtime,
        "F5",
        write(tmp_path / "f5.csv", [person("w", email="w@example.com", email_ok="真", renewal="2026/07/31")]),
    )
    renewal = {"renewal_reminder": SCENARIOS["renewal_reminder"]}
    untriggered = {"renewal_reminder": replace(SCENARIOS["renewal_reminder"], trigger=OnEvent("linked"))}
    evening = jst("2026-07-01 19:00")
    with runtime.engine.begin() as connection:
        assert next_wakeup(connection, renewal, jst("2026-07-01 12:00")) == evening
        enrol_due(connection, renewal["renewal_reminder"], evening)
        advance_due(connection, renewal, evening)
        assert next_wakeup(connection, renewal, evening) == jst("2026-07-02 19:00")
        assert next_wakeup(connection, untriggered, evening) == jst("2026-07-04 19:00")
        set_paused(connection, "renewal_reminder", True)
        assert next_wakeup(connection, renewal, evening) is None


# 1 to 3 July 2026: every date trigger, the 1st of the month, the first Friday, a campaign's first days
FIRST_DAY = date(2026, 7, 1)
DAYS = 3


def catalog_at_two_hours():
    """Every scenario of the catalogue; the calendar ones at 12:30 and the referral campaign (started on the second
    day) at 13:30, hours no date trigger fires at: their later steps wake when no trigger fires."""
    calendar = {
        scenario.id: {"trigger_at": "12:30"}
        for scenario in SCENARIOS.values()
        if isinstance(scenario.trigger, MonthlyOn | NthWeekdays | OnDate)
    }
    second_day = (FIRST_DAY + timedelta(days=1)).isoformat()
    calendar["referral_campaign"] = {"campaign_start_on": second_day, "trigger_at": "13:30"}
    return build_catalog(calendar)


def outcome_of_run(runtime, scenarios, every_minutes):
    """Run the days in two halves (opens recorded between them); what the run left: the ledger, every enrollment
    (state, wake-up, outcome) and the explain trace."""
    start = datetime.combine(FIRST_DAY, datetime.min.time(), TOKYO)
    run(runtime, scenarios, start, DAYS / 2, every_minutes)
    with runtime.engine.begin() as connection:  # every other customer opens what they got so far
        connection.execute(
            update(Delivery).where(Delivery.customer_id % 2 == 0).values(opened_at=start, clicked_at=start)
        )
    run(runtime, scenarios, start + timedelta(days=DAYS / 2), DAYS / 2, every_minutes)
    with runtime.engine.connect() as connection:
        ledger = connection.execute(
            select(
                Delivery.customer_id,
                Enrollment.scenario_id,
                Delivery.step,
                Delivery.channel,
                Delivery.status,
                Delivery.due_at,
            ).join(Enrollment, Enrollment.id == Delivery.enrollment_id)
        ).all()
        enrollments = connection.execute(
            select(
                Enrollment.customer_id,
                Enrollment.scenario_id,
                Enrollment.anchor_key,
                Enrollment.status,
                Enrollment.outcome,
                Enrollment.entered_at,
                Enrollment.wake_at,
                Enrollment.state,
            )
        ).all()
        trace = connection.execute(
            select(
                TraceEntry.customer_id,
                TraceEntry.scenario_id,
                TraceEntry.at,
                TraceEntry.step,
                TraceEntry.code,
                TraceEntry.details,
            )
        ).all()
    return (
        sorted((tuple(row) for row in ledger), key=str),
        sorted(((*row[:7], json.dumps(row[7], sort_keys=True)) for row in enrollments), key=str),
        sorted(((*row[:5], json.dumps(row[5], sort_keys=True)) for row in trace), key=str),
    )


def forget_the_run(runtime) -> None:
    with runtime.engine.begin() as connection:
        for table in (TraceEntry, Delivery, Enrollment, TriggerRun):
            connection.execute(delete(table))


def test_ticking_at_the_wake_ups_only_gives_what_ticking_every_30_minutes_gives(runtime, tmp_path):
    """Over sample customers and every scenario for three days: the same ledger rows (step, channel, status, time),
    the same enrollment states and exits and the same explain trace, whichever way the days are ticked."""
    load_files(runtime, tmp_path, FIRST_DAY, FIRST_DAY, population=60)
    scenarios = catalog_at_two_hours()
    fixed = outcome_of_run(runtime, scenarios, every_minutes=30)
    forget_the_run(runtime)
    jumped = outcome_of_run(runtime, scenarios, every_minutes=None)
    assert len(fixed[0]) > 20 and len({scenario for _, scenario, *_ in fixed[0]}) > 5  # a run worth comparing
    assert jumped == fixed
