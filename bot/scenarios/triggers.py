"""Who enters a scenario at a moment: one INSERT … SELECT per scenario and trigger day, never a loop over customers.

The entry segment (the deck's required conditions), the operator's optional filters, the channel permission
(配信許可フラグ: at least one of the scenario's channels permitted and addressable) and the holdout draw are all
evaluated by the database. The unique key (scenario, customer, anchor record) makes a second evaluation of the
same moment, or two workers evaluating at once, enrol nobody twice. Scenarios started by what a customer does
(OnEvent) enrol one customer at a time by the same rules: bot/scenarios/journeys.py.

A firing is evaluated once when its moment has come, and again by a later tick that day only if customer data
was written since (`mark_data_changed`, called by imports and the events API): a quiet minute costs two small
look-ups per scenario, not a scan of every customer.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Integer,
    String,
    case,
    cast,
    false,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from bot.customers.derived import per_customer
from bot.customers.facts import ANCHORS, CUSTOMERS, ENTITIES, ONE_PER_CUSTOMER, column_of
from bot.delivery.rules import CHANNEL_COLUMNS, may_carry_marketing
from flows.dsl import (
    Anchor,
    Channel,
    Condition,
    Op,
    Reentry,
    RelativeTo,
    Scenario,
    ScenarioError,
    Send,
    filter_conditions,
)
from flows.engine import TOKYO, fires_at, japan_day
from models import DataChange, Enrollment, EnrollmentStatus, TriggerRun, utcnow

ENROLLMENTS = Enrollment.__table__
RUNS = TriggerRun.__table__
CHANGES = DataChange.__table__
_SCOPE = "customer_data"
# what an INSERT … SELECT of new enrollments fills, in the order its SELECT gives them
ENROLMENT_COLUMNS = (
    "scenario_id",
    "customer_id",
    "anchor_key",
    "status",
    "held_out",
    "entered_at",
    "wake_at",
    "wake_token",
    "updated_at",
)
_HASH = 2654435761  # Knuth's multiplicative hash: spreads consecutive customer ids over the holdout draw


class Position(FunctionElement[int]):
    """Where a text first occurs in another (1 for the first character, 0 when absent), letter case counting as
    it does in Python's `in`: SQLite's LIKE would find "Token" in "token". SQLite calls it instr, PostgreSQL
    strpos, with the same arguments."""

    type = Integer()
    inherit_cache = True


@compiles(Position)
def _instr(element: Position, compiler: SQLCompiler, **kw: Any) -> str:
    return f"instr({compiler.process(element.clauses, **kw)})"


@compiles(Position, "postgresql")
def _strpos(element: Position, compiler: SQLCompiler, **kw: Any) -> str:
    return f"strpos({compiler.process(element.clauses, **kw)})"


def sql_condition(condition: Condition, today: date) -> ColumnElement[bool]:
    column = column_of(condition.fact)
    if condition.op is Op.IS_TRUE:
        return column.is_(true())
    if condition.op is Op.IS_FALSE:
        return or_(column.is_(None), column == false())
    if condition.op is Op.EQUALS:
        return column == condition.value
    if condition.op is Op.CONTAINS:
        return Position(column, str(condition.value)) > 0
    days = int(condition.value)  # type: ignore[call-overload]
    return column == (
        today - timedelta(days=days) if condition.op is Op.DAYS_SINCE else today + timedelta(days=days)
    )


def scenario_channels(scenario: Scenario) -> set[Channel]:
    return {
        channel for step in scenario.steps if isinstance(step, Send) for channel in step.channels.channels
    }


def _salt(scenario: Scenario) -> int:
    return zlib.crc32(scenario.id.encode()) % 10_000


def holdout_draw(scenario: Scenario, customer_id: ColumnElement[int]) -> ColumnElement[bool]:
    """The same customer always draws the same for a scenario; `holdout` of the draws are below the line."""
    if scenario.holdout <= 0:
        return false()
    bucket = (cast(customer_id, BigInteger) * literal(_HASH, BigInteger) + _salt(scenario)) % 10_000
    return case((bucket < int(scenario.holdout * 10_000), true()), else_=false())


def is_held_out(scenario: Scenario, customer_id: int) -> bool:
    """The same draw as `holdout_draw`, for one customer (event-started enrollments)."""
    return (customer_id * _HASH + _salt(scenario)) % 10_000 < int(scenario.holdout * 10_000)


def enrol_due(
    connection: Connection, scenario: Scenario, now: datetime, filters: Mapping[str, object] | None = None
) -> int:
    """Enrol everyone the trigger brings in at `now` (today's firing, and yesterday's if a tick missed it)."""
    conditions = scenario.segment + filter_conditions(scenario, filters or {})
    entered = 0
    today = japan_day(now)
    changed = _data_changed_at(connection)
    for day in (today - timedelta(days=1), today):
        moment = fires_at(scenario.trigger, day)
        if moment is None or moment > now:
            continue
        ran = connection.execute(
            select(RUNS.c.ran_at).where(RUNS.c.scenario_id == scenario.id, RUNS.c.day == day)
        ).scalar()
        if ran is not None and (changed is None or changed <= ran):
            continue  # evaluated already, and no data written since: the same query would find nobody new
        entered += _enrol(connection, scenario, day, moment, conditions)
        _record_run(connection, scenario, day)
    return entered


def _insert(connection: Connection, table):  # type: ignore[no-untyped-def]
    """INSERT with the dialect's ON CONFLICT support (PostgreSQL or SQLite)."""
    return (postgresql if connection.dialect.name == "postgresql" else sqlite).insert(table)


def mark_data_changed(connection: Connection) -> None:
    """Customer data was written: the next tick evaluates today's triggers again (imports, the events API)."""
    stamp = utcnow()
    statement = _insert(connection, CHANGES).values(scope=_SCOPE, changed_at=stamp)
    connection.execute(statement.on_conflict_do_update(index_elements=["scope"], set_={"changed_at": stamp}))


def _data_changed_at(connection: Connection) -> datetime | None:
    return connection.execute(select(CHANGES.c.changed_at).where(CHANGES.c.scope == _SCOPE)).scalar()


def _record_run(connection: Connection, scenario: Scenario, day: date) -> None:
    stamp = utcnow()  # wall clock, like the data's own stamps, whatever moment the tick evaluates
    statement = _insert(connection, RUNS).values(scenario_id=scenario.id, day=day, ran_at=stamp)
    connection.execute(
        statement.on_conflict_do_update(index_elements=["scenario_id", "day"], set_={"ran_at": stamp})
    )


def _enrol(connection: Connection, scenario: Scenario, day: date, moment: datetime, conditions: tuple) -> int:
    base, anchor_key, when = _source(scenario, day)
    joined = with_customer_facts(base)
    _check_entities(scenario, base, conditions)
    stamp = utcnow()
    chosen = (
        select(
            literal(scenario.id, String).label("scenario_id"),
            CUSTOMERS.c.id.label("customer_id"),
            anchor_key.label("anchor_key"),
            literal(str(EnrollmentStatus.ACTIVE), String).label("status"),
            holdout_draw(scenario, CUSTOMERS.c.id).label("held_out"),
            literal(moment, ENROLLMENTS.c.entered_at.type).label("entered_at"),
            literal(moment, ENROLLMENTS.c.wake_at.type).label("wake_at"),
            literal(0, Integer).label("wake_token"),
            literal(stamp, ENROLLMENTS.c.updated_at.type).label("updated_at"),
        )
        .select_from(joined)
        .where(
            *when, *(sql_condition(c, day) for c in conditions), _reachable(scenario), _may_enter(scenario)
        )
    )
    if ANCHORS.get(scenario.anchor, None) and ANCHORS[scenario.anchor].per_customer:
        chosen = chosen.distinct()  # several rows of one customer that day (page views) enter once
    statement = (
        _insert(connection, ENROLLMENTS)
        .from_select(list(ENROLMENT_COLUMNS), chosen)
        .on_conflict_do_nothing(index_elements=["scenario_id", "customer_id", "anchor_key"])
    )
    if connection.dialect.name == "postgresql":  # psycopg reports no row count for INSERT … SELECT here
        entered = statement.returning(literal(1)).cte("entered")
        return connection.execute(select(func.count()).select_from(entered)).scalar_one()
    return connection.execute(statement).rowcount


def with_customer_facts(base):  # type: ignore[no-untyped-def]
    """The entrants' source table with the customer's one-row tables the conditions may read (a missing row is
    no data, not a miss), as `per_customer` joins them for the facts computed from records."""
    if base is CUSTOMERS:
        return per_customer()
    return per_customer(base.join(CUSTOMERS, CUSTOMERS.c.id == base.c.customer_id))


def _source(scenario: Scenario, day: date):  # type: ignore[no-untyped-def]
    """The table entrants come from, the anchor key of each, and the trigger's own condition for `day`."""
    trigger = scenario.trigger
    if isinstance(trigger, RelativeTo):
        source = ANCHORS.get(scenario.anchor)
        entity = trigger.date_fact.partition(".")[0]
        if source is None or source.entity != entity:
            raise ScenarioError(
                f"scenario {scenario.id}: trigger date {trigger.date_fact} is not of its {scenario.anchor}"
            )
        table = ENTITIES[entity]
        anchor_day = day - timedelta(days=trigger.days)
        column = column_of(trigger.date_fact)
        if column.type.python_type is datetime:  # a moment (page views): its day in Japan
            start = datetime.combine(anchor_day, time(0), TOKYO)
            when = [column >= start, column < start + timedelta(days=1)]
        else:
            when = [column == anchor_day]
        if source.per_customer:  # named by the day itself: one enrollment per customer and day
            return table, literal(f"{scenario.anchor}:{anchor_day.isoformat()}", String), when
        return table, literal(f"{scenario.anchor}:", String) + cast(table.c[source.key], String), when
    if scenario.anchor is not Anchor.OCCURRENCE:
        raise ScenarioError(
            f"scenario {scenario.id}: a calendar trigger enrols once per day (anchor occurrence)"
        )
    return CUSTOMERS, literal(f"{Anchor.OCCURRENCE}:{day.isoformat()}", String), []


def _check_entities(scenario: Scenario, base, conditions: tuple) -> None:  # type: ignore[no-untyped-def]
    for condition in conditions:
        entity = condition.fact.partition(".")[0]
        column_of(condition.fact)  # an unknown fact is refused by name
        if entity not in ONE_PER_CUSTOMER and ENTITIES[entity] is not base:
            raise ScenarioError(
                f"scenario {scenario.id}: condition on {condition.fact} is not about its {scenario.anchor}"
            )


def _may_enter(scenario: Scenario) -> ColumnElement[bool]:
    """The re-entry rule: one at a time means no enrollment of this scenario is still running for the customer."""
    if scenario.reentry is Reentry.PER_ANCHOR:
        return true()
    running = ENROLLMENTS.alias("running")
    return ~(
        select(running.c.id)
        .where(
            running.c.scenario_id == scenario.id,
            running.c.customer_id == CUSTOMERS.c.id,
            running.c.status == EnrollmentStatus.ACTIVE,
        )
        .exists()
    )


def entry_channels(scenario: Scenario) -> set[Channel]:
    """The channels of the scenario's first message: an entrant must be reachable on one of them, or the flow
    would start with nothing sent and take them for a non-opener (#6 sends A by email only)."""
    first = next((step for step in scenario.steps if isinstance(step, Send)), None)
    return set(first.channels.channels) if first else scenario_channels(scenario)


def _reachable(scenario: Scenario) -> ColumnElement[bool]:
    """配信許可フラグ = 真: at least one of the first message's channels may carry marketing to the customer, by
    the rule the send applies (permitted, an address, on LINE not blocked)."""
    used = entry_channels(scenario)
    return or_(*(may_carry_marketing(channel) for channel in CHANNEL_COLUMNS if channel in used))
