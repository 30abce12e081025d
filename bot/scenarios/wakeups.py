"""When a tick next has work: the earliest enrollment wake-up or trigger firing after a moment.

A tick does something at those moments only: it enrols whoever a trigger's firing brings in (a date trigger
every day at its hour, a calendar trigger on its days) and advances the enrollments whose wake-up has come.
Quiet hours and the caps move a message's time in the ledger, which the send path acts on, never the tick.
Simulations and tests can jump from one such moment to the next instead of ticking every few minutes (the
connection may be inside a simulation's transaction: what it enrolled and advanced counts).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, func, select

from bot.scenarios.controls import paused_scenarios
from flows.dsl import OnDate, OnEvent, Scenario, Trigger
from flows.engine import fires_at, japan_day
from models import Enrollment, EnrollmentStatus

ENROLLMENTS = Enrollment.__table__
FIRING_HORIZON_DAYS = 400  # the rarest calendar firing, a fifth week (NthWeekdays), recurs within it


def next_firing(trigger: Trigger, after: datetime) -> datetime | None:
    """The first moment later than `after` at which the trigger fires; None if it never does again."""
    if isinstance(trigger, OnEvent):
        return None
    if isinstance(trigger, OnDate):
        moment = fires_at(trigger, date.fromisoformat(trigger.day)) if trigger.day else None
        return moment if moment is not None and moment > after else None
    first = japan_day(after)
    for offset in range(FIRING_HORIZON_DAYS):
        moment = fires_at(trigger, first + timedelta(days=offset))
        if moment is not None and moment > after:
            return moment
    return None


def next_wakeup(
    connection: Connection, scenarios: Mapping[str, Scenario], after: datetime
) -> datetime | None:
    """The earliest moment later than `after` at which a tick of `scenarios` has work, for a caller that ticked
    `after` and wrote no customer data since (written data makes the next tick, whenever it comes, evaluate
    the day's firings again). None: no tick will have work (only event triggers or past dates, nobody waiting,
    or every scenario paused or switched off)."""
    switched_off = {key for key, scenario in scenarios.items() if not scenario.enabled}
    running = sorted(set(scenarios) - paused_scenarios(connection) - switched_off)
    if not running:
        return None
    woken = connection.execute(
        select(func.min(ENROLLMENTS.c.wake_at)).where(
            ENROLLMENTS.c.status == EnrollmentStatus.ACTIVE,
            ENROLLMENTS.c.wake_at > after,
            ENROLLMENTS.c.scenario_id.in_(running),
        )
    ).scalar()
    firings = (next_firing(scenarios[key].trigger, after) for key in running)
    return min((moment for moment in (woken, *firings) if moment is not None), default=None)
