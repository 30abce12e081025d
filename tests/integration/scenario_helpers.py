"""Builders for the scenario timeline tests: data files written and imported through the real importer, the
engine ticked over simulated days, and the resulting ledger read back as (customer, day, hour, step, channel).

The simulated days are ticked at the moments a tick has work (`next_wakeup`), not every few minutes: the same
timeline for a fraction of the ticks (tests/integration/test_wakeups.py runs both and compares)."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update

from bot.imports.files import find_spec
from bot.imports.runner import import_file
from bot.scenarios.runner import tick
from bot.scenarios.wakeups import next_wakeup
from flows.dsl import Scenario
from flows.engine import TOKYO
from models import Customer, Delivery, Enrollment

LINE_ID = "U" + "c" * 32


def write(path: Path, rows: list[dict[str, str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def load(runtime, kind: str, path: Path) -> None:
    report = import_file(runtime.engine, find_spec(kind), path)
    assert report.committed and report.rejected == 0, report.lines()


def person(code: str, **channels: str) -> dict[str, str]:
    return {
        "customer_id": code,
        "email_main": channels.get("email", ""),
        "email_permitted": channels.get("email_ok", "偽"),
        "sms_phone": channels.get("sms", ""),
        "sms_permitted": channels.get("sms_ok", "偽"),
        "line_user_id": channels.get("line", ""),
        "line_permitted": channels.get("line_ok", "偽"),
        "family_name": "山田",
        "given_name": code,
        "contracted": channels.get("contracted", "偽"),
        "next_renewal_on": channels.get("renewal", ""),
    }


def moments(
    runtime, scenarios: Mapping[str, Scenario], start: datetime, days: float, every_minutes: int | None
) -> Iterator[datetime]:
    """The moments to tick from `start` for `days` days: `start`, then each wake-up after the moment just ticked
    (the caller ticks a moment before taking the next); with `every_minutes`, a fixed cadence instead."""
    end = start + timedelta(days=days)
    moment: datetime | None = start
    while moment is not None and moment < end:
        yield moment
        if every_minutes:
            moment += timedelta(minutes=every_minutes)
        else:
            with runtime.engine.connect() as connection:
                moment = next_wakeup(connection, scenarios, moment)


def run_days(runtime, start: datetime, days: float, scenarios: Mapping[str, Scenario]) -> list[tuple]:
    """Tick over `days` days (see `moments`), each moment twice (a repeated or concurrent tick); the ledger."""
    for moment in moments(runtime, scenarios, start, days, None):
        tick(runtime.engine, scenarios, moment)
        tick(runtime.engine, scenarios, moment)
    return ledger(runtime)


def ledger(runtime) -> list[tuple]:
    """[(customer code, JST day, HH:MM, step, channel)] of every queued delivery."""
    with runtime.engine.connect() as connection:
        rows = connection.execute(
            select(Delivery.customer_id, Delivery.due_at, Delivery.step, Delivery.channel).order_by(
                Delivery.due_at, Delivery.customer_id, Delivery.id
            )
        ).all()
        codes = dict(connection.execute(select(Enrollment.customer_id, Enrollment.customer_id)).all())
    out = []
    for customer_id, due_at, step_id, channel in rows:
        local = due_at.astimezone(TOKYO)
        out.append((codes[customer_id], local.strftime("%m-%d"), local.strftime("%H:%M"), step_id, channel))
    return out


def customer_ids(runtime) -> dict[str, int]:
    from models import Customer

    with runtime.engine.connect() as connection:
        return dict(connection.execute(select(Customer.given_name, Customer.id)).all())


def engage(runtime, customer_id: int, step_id: str, signal: str = "opened_at") -> None:
    """What the tracking endpoints will record (email pixel, short link, LINE postback)."""
    with runtime.engine.begin() as connection:
        connection.execute(
            update(Delivery)
            .where(Delivery.customer_id == customer_id, Delivery.step == step_id)
            .values({signal: datetime.now(TOKYO)})
        )


def outcomes(runtime) -> dict[int, str | None]:
    with runtime.engine.connect() as connection:
        return dict(connection.execute(select(Enrollment.customer_id, Enrollment.outcome)).all())


def run(
    runtime,
    scenario: Scenario | Mapping[str, Scenario],
    start: datetime,
    days: float,
    every_minutes: int | None = None,
) -> None:
    """Tick one scenario (or several, by id) over `days` days (see `moments`), each moment once; no ledger read."""
    scenarios = {scenario.id: scenario} if isinstance(scenario, Scenario) else scenario
    for moment in moments(runtime, scenarios, start, days, every_minutes):
        tick(runtime.engine, scenarios, moment)


def timeline(runtime) -> list[tuple[str, str, str, str, str]]:
    """[(customer's given name, JST "MM-DD", "HH:MM", step, channel)] of every ledger row, in time order.
    The builders put a customer's code in 名 (given name), so the tests read who got what by that code."""
    with runtime.engine.connect() as connection:
        rows = connection.execute(
            select(Customer.given_name, Delivery.due_at, Delivery.step, Delivery.channel)
            .join(Customer, Customer.id == Delivery.customer_id)
            .order_by(Delivery.due_at, Customer.given_name, Delivery.id)
        ).all()
    out = []
    for name, due_at, step_id, channel in rows:
        local = due_at.astimezone(TOKYO)
        out.append((name, local.strftime("%m-%d"), local.strftime("%H:%M"), step_id, channel))
    return out


def exits(runtime) -> dict[str, str | None]:
    """{customer's given name: outcome} of every enrollment (None while it is still running)."""
    with runtime.engine.connect() as connection:
        rows = connection.execute(
            select(Customer.given_name, Enrollment.outcome).join(
                Customer, Customer.id == Enrollment.customer_id
            )
        ).all()
    return dict(rows)


def assert_no_message_twice(runtime) -> None:
    """Nobody got the same step of the same enrollment twice (on any channel)."""
    with runtime.engine.connect() as connection:
        rows = connection.execute(select(Delivery.enrollment_id, Delivery.step)).all()
    repeated = [key for key, count in Counter(rows).items() if count > 1]
    assert not repeated, repeated


def set_values(runtime, table, where, **values) -> None:
    """Change live data mid-flow (a contract signed, a benefit used, a permission withdrawn)."""
    with runtime.engine.begin() as connection:
        connection.execute(update(table).where(where).values(**values))


def exit_times(runtime) -> dict[str, tuple[str | None, str | None]]:
    """{customer's given name: (outcome, JST "MM-DD HH:MM" of the tick that ended it)}; (None, None) while the
    enrollment still runs."""
    with runtime.engine.connect() as connection:
        rows = connection.execute(
            select(Customer.given_name, Enrollment.outcome, Enrollment.updated_at).join(
                Customer, Customer.id == Enrollment.customer_id
            )
        ).all()
    return {
        name: (outcome, updated.astimezone(TOKYO).strftime("%m-%d %H:%M") if outcome else None)
        for name, outcome, updated in rows
    }
