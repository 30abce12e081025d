"""`flask scenarios simulate`: what a scenario would send over the current data on simulated days, kept nowhere."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, Engine, func, select

from bot.scenarios.runner import BATCH, DELIVERIES, ENROLLMENTS, advance_due
from bot.scenarios.triggers import enrol_due
from flows.dsl import Scenario
from flows.engine import TOKYO
from flows.rules import DeliveryRules
from models import Customer


def simulate(
    engine: Engine,
    scenario: Scenario,
    first: date,
    last: date,
    every_minutes: int,
    rules: DeliveryRules,
    filters: Mapping[str, object] | None = None,
) -> list[str]:
    """The timeline `scenario` would produce from `first` to `last` (Japan days) over the current data: the
    same triggers, engine and rules, ticked every `every_minutes`, in one transaction that is rolled back."""
    scenarios = {scenario.id: scenario}
    moment = datetime.combine(first, datetime.min.time(), TOKYO)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), TOKYO)
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            while moment < end:
                enrol_due(connection, scenario, moment, filters)
                while advance_due(connection, scenarios, moment, rules)[0] == BATCH:
                    pass
                moment += timedelta(minutes=every_minutes)
            return _timeline(connection, scenario)
        finally:
            transaction.rollback()


def _timeline(connection: Connection, scenario: Scenario) -> list[str]:
    customers = Customer.__table__
    statement = (
        select(
            DELIVERIES.c.due_at,
            customers.c.customer_code,
            customers.c.id,
            DELIVERIES.c.step,
            DELIVERIES.c.channel,
            DELIVERIES.c.status,
        )
        .join(ENROLLMENTS, ENROLLMENTS.c.id == DELIVERIES.c.enrollment_id)
        .join(customers, customers.c.id == DELIVERIES.c.customer_id)
        .where(ENROLLMENTS.c.scenario_id == scenario.id)
        .order_by(DELIVERIES.c.due_at, DELIVERIES.c.customer_id)
    )
    lines = [
        f"{due.astimezone(TOKYO):%Y-%m-%d %H:%M}  {code or f'#{cid}'}  {step_id}  {channel}  {status}"
        for due, code, cid, step_id, channel, status in connection.execute(statement)
    ]
    outcomes = connection.execute(
        select(ENROLLMENTS.c.outcome, func.count())
        .where(ENROLLMENTS.c.scenario_id == scenario.id)
        .group_by(ENROLLMENTS.c.outcome)
    ).all()
    summary = ", ".join(f"{outcome or 'active'} {count}" for outcome, count in sorted(outcomes, key=str))
    return [*lines, f"{scenario.id}: {len(lines)} messages; enrollments: {summary or 'none'}"]
