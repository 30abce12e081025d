"""Journeys a customer starts by doing something (scenarios with an `OnEvent` trigger): adding the LINE account
as a friend, completing the ID link, registering an email address, booking a visit, or having a service-desk
request closed.

Whatever records the event (the chat's handlers, the staff desk, the events API) calls `enrol_on_event` in its
own transaction, so the enrollment commits with the event's effect or not at all, and a retried event enrols
nobody twice: the unique key (scenario, customer, anchor) holds, the anchor being the event's record where the
scenario is about one (a reservation for a booking) and otherwise the day of the event.

The entry rules are the daily triggers' own, evaluated by the database for this one customer: the segment, the
permission on the first message's channels, the re-entry rule and the holdout draw. A scenario paused by staff
or switched off in the settings file enrols nobody.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import Connection, Integer, String, literal, select, update

from bot.customers.facts import ANCHORS, CUSTOMERS, ENTITIES
from bot.platform.config import Settings
from bot.scenarios.controls import paused_scenarios
from bot.scenarios.triggers import (
    ENROLMENT_COLUMNS,
    _check_entities,
    _insert,
    _may_enter,
    _reachable,
    holdout_draw,
    sql_condition,
    with_customer_facts,
)
from flows.dsl import Anchor, Condition, Event, OnEvent, Scenario, filter_conditions
from flows.engine import japan_day
from models import Enrollment, EnrollmentStatus, utcnow

ENROLLMENTS = Enrollment.__table__


def listening(scenarios: Mapping[str, Scenario], event: str) -> list[Scenario]:
    """The scenarios `event` starts, those switched off in the settings file left out."""
    return [
        scenario
        for scenario in scenarios.values()
        if isinstance(scenario.trigger, OnEvent) and scenario.trigger.event == event and scenario.enabled
    ]


def start_journeys(
    connection: Connection,
    settings: Settings,
    event: Event,
    customer_id: int,
    at: datetime,
    records: Mapping[Anchor, str] | None = None,
) -> list[str]:
    """`enrol_on_event` with the scenarios and optional filters of the operator's settings."""
    return enrol_on_event(
        connection, settings.scenarios, event, customer_id, at, records, settings.scenario_filters
    )


def enrol_on_event(
    connection: Connection,
    scenarios: Mapping[str, Scenario],
    event: Event | str,
    customer_id: int,
    at: datetime,
    records: Mapping[Anchor, str] | None = None,
    filters: Mapping[str, Mapping[str, object]] | None = None,
) -> list[str]:
    """Enrol the customer in every scenario `event` starts, as of `at` (when it happened); the ids of those
    entered now. `records` names the event's own records by anchor ({Anchor.RESERVATION: "R123"} for a
    booking): a scenario anchored on one enters once per record, any other once per day of the event."""
    chosen = listening(scenarios, event)
    if not chosen:
        return []
    paused = paused_scenarios(connection)
    return [
        scenario.id
        for scenario in chosen
        if scenario.id not in paused
        and _enrol(
            connection,
            scenario,
            customer_id,
            at,
            (records or {}).get(scenario.anchor),
            filter_conditions(scenario, (filters or {}).get(scenario.id) or {}),
        )
    ]


def _enrol(
    connection: Connection,
    scenario: Scenario,
    customer_id: int,
    at: datetime,
    record: str | None,
    filtered: tuple[Condition, ...],
) -> bool:
    trigger = scenario.trigger
    assert isinstance(trigger, OnEvent)
    moment = at + timedelta(minutes=trigger.delay_minutes)
    conditions = scenario.segment + filtered
    base, where = CUSTOMERS, [CUSTOMERS.c.id == customer_id]
    source = ANCHORS.get(scenario.anchor)
    if record is not None and source is not None and not source.per_customer:
        base = ENTITIES[
            source.entity
        ]  # the event's record: the segment may speak of it (reservation.store_code)
        key = base.c[source.key]
        where = [
            base.c.customer_id == customer_id,
            key == (int(record) if key.type.python_type is int else record),
        ]
    anchor_key = f"{scenario.anchor}:{record if record is not None else japan_day(at).isoformat()}"
    _check_entities(scenario, base, conditions)
    chosen = (
        select(
            literal(scenario.id, String),
            CUSTOMERS.c.id,
            literal(anchor_key, String),
            literal(str(EnrollmentStatus.ACTIVE), String),
            holdout_draw(scenario, CUSTOMERS.c.id),
            literal(moment, ENROLLMENTS.c.entered_at.type),
            literal(moment, ENROLLMENTS.c.wake_at.type),
            literal(0, Integer),
            literal(utcnow(), ENROLLMENTS.c.updated_at.type),
        )
        .select_from(with_customer_facts(base))
        .where(
            *where,
            CUSTOMERS.c.erased_at.is_(None),
            *(sql_condition(condition, japan_day(moment)) for condition in conditions),
            _reachable(scenario),
            _may_enter(scenario),
        )
        .limit(1)
    )
    statement = (
        _insert(connection, ENROLLMENTS)
        .from_select(list(ENROLMENT_COLUMNS), chosen)
        .on_conflict_do_nothing(index_elements=["scenario_id", "customer_id", "anchor_key"])
        .returning(ENROLLMENTS.c.id)
    )
    return connection.execute(statement).first() is not None


def follow_line_address(
    connection: Connection, scenarios: Mapping[str, Scenario], prospect_id: int, customer_id: int
) -> int:
    """ID連携 moved a LINE address from the friend-add prospect to the customer: the journeys the LINE user
    started as that prospect (the welcome series) go on as the customer's, whose record now holds the address
    and the link. One the customer already runs for the same anchor stays where it was. How many moved."""
    started = [scenario.id for scenario in scenarios.values() if isinstance(scenario.trigger, OnEvent)]
    if prospect_id == customer_id or not started:
        return 0
    theirs = ENROLLMENTS.alias("theirs")
    clash = (
        select(theirs.c.id)
        .where(
            theirs.c.customer_id == customer_id,
            theirs.c.scenario_id == ENROLLMENTS.c.scenario_id,
            theirs.c.anchor_key == ENROLLMENTS.c.anchor_key,
        )
        .exists()
    )
    return connection.execute(
        update(ENROLLMENTS)
        .where(
            ENROLLMENTS.c.customer_id == prospect_id,
            ENROLLMENTS.c.status == EnrollmentStatus.ACTIVE,
            ENROLLMENTS.c.scenario_id.in_(started),
            ~clash,
        )
        .values(customer_id=customer_id, updated_at=utcnow())
    ).rowcount


def linked_journeys(connection: Connection, settings: Settings, customer_id: int, at: datetime) -> list[str]:
    """ID連携 done: the customer enters the journeys the link starts (those the LINE user started before, as the
    friend-add prospect, followed the address in the merge: bot/chat/merge.py)."""
    return start_journeys(connection, settings, Event.LINKED, customer_id, at)
