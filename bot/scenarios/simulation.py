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
    same triggers, engine and rules, ticked every `every_minutes`, in one transaction that is rolled back.

    Only what the simulation itself queued, due within those days, is listed: not the ledger's earlier rows,
    nor a message the simulation put outside the window (one held past its last day, one due the day before
    from yesterday's firing, which the first tick catches up), which are counted instead."""
    scenarios = {scenario.id: scenario}
    start = datetime.combine(first, datetime.min.time(), TOKYO)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), TOKYO)
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            before = _Before(connection)
            moment = start
            while moment < end:
                enrol_due(connection, scenario, moment, filters)
                while advance_due(connection, scenarios, moment, rules)[0] == BATCH:
                    pass
                moment += timedelta(minutes=every_minutes)
            return _timeline(connection, scenario, before, start, end)
        finally:
            transaction.rollback()


class _Before:
    """The highest enrollment and ledger ids before the simulation: rows above them are the simulation's."""

    def __init__(self, connection: Connection) -> None:
        self.enrollment = connection.execute(
            select(func.coalesce(func.max(ENROLLMENTS.c.id), 0))
        ).scalar_one()
        self.delivery = connection.execute(select(func.coalesce(func.max(DELIVERIES.c.id), 0))).scalar_one()


def _timeline(
    connection: Connection, scenario: Scenario, before: _Before, start: datetime, end: datetime
) -> list[str]:
    customers = Customer.__table__
    ours = (
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
        .where(ENROLLMENTS.c.scenario_id == scenario.id, DELIVERIES.c.id > before.delivery)
        .order_by(DELIVERIES.c.due_at, DELIVERIES.c.customer_id)
    )
    lines, earlier, later = [], 0, 0
    for due, code, cid, step_id, channel, status in connection.execute(ours):
        if due < start:
            earlier += 1
        elif due >= end:
            later += 1
        else:
            lines.append(
                f"{due.astimezone(TOKYO):%Y-%m-%d %H:%M}  {code or f'#{cid}'}  {step_id}  {channel}  {status}"
            )
    outcomes = connection.execute(
        select(ENROLLMENTS.c.outcome, func.count())
        .where(ENROLLMENTS.c.scenario_id == scenario.id, ENROLLMENTS.c.id > before.enrollment)
        .group_by(ENROLLMENTS.c.outcome)
    ).all()
    entered = sum(count for _, count in outcomes)
    ends = ", ".join(f"{outcome or 'active'} {count}" for outcome, count in sorted(outcomes, key=str))
    outside = [
        *([f"{earlier} due before {start:%Y-%m-%d}"] if earlier else []),
        *([f"{later} due after {end - timedelta(days=1):%Y-%m-%d}"] if later else []),
    ]
    summary = f"{scenario.id}: {len(lines)} message{'' if len(lines) == 1 else 's'}; entered {entered}"
    summary += f" ({ends})" if entered else ""
    summary += f"; not listed: {', '.join(outside)}" if outside else ""
    return [*lines, summary]
