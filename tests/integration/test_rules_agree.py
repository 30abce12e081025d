"""Rules written twice agree on generated data: whom a scenario's trigger enrols in SQL is exactly whom the
engine's conditions (`holds`) admit in Python, and what explain tells staff of each condition; its 配信許可フラグ
is the send-time rule (`refusal`); and the holdout draw is the same in both."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.customers.facts import CUSTOMERS, load_facts
from bot.delivery.rules import NOBODY, load_reach, refusal
from bot.platform.db import make_engine
from bot.scenarios.explain import entry_check
from bot.scenarios.triggers import enrol_due, holdout_draw, is_held_out, sql_condition
from flows.catalog import SCENARIOS
from flows.dsl import (
    Anchor,
    Channel,
    ChannelPolicy,
    Condition,
    NthWeekdays,
    Pick,
    Purpose,
    RelativeTo,
    Scenario,
    Send,
    Trigger,
    contains,
    is_false,
)
from flows.engine import TOKYO, all_hold, holds
from models import Enrollment, FriendStatus, PageView
from tests.integration.rules_helpers import (
    STAMP,
    World,
    channel_lists,
    facts_of,
    rolled_back,
    segments,
    subjects,
    worlds,
)

AGREEMENT = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CUSTOMER_FACTS = ("customer", "contract", "channel", "activity")
VIEWS = PageView.__table__
TRIGGER_DATES = {"reservation": "reserved_on", "benefit": "granted_on"}


@pytest.fixture
def engine(database_url):
    built = make_engine(database_url)
    yield built
    built.dispose()


def _scenario(
    anchor: Anchor,
    world: World,
    segment: tuple[Condition, ...],
    channels: tuple[Channel, ...],
    holdout: float,
) -> Scenario:
    """A scenario that fires today: on today's weekday (any week), or on records dated today."""
    trigger: Trigger = NthWeekdays((1, 2, 3, 4, 5), world.today.weekday(), "09:00")
    if anchor is not Anchor.OCCURRENCE:
        trigger = RelativeTo(f"{anchor}.{TRIGGER_DATES[str(anchor)]}", 0, "09:00")
    first = Send("a", "agreement.a", ChannelPolicy(Pick.FIRST_REACHABLE, channels))
    return Scenario("agreement", 99, "一致", trigger, anchor, segment, (first,), holdout=holdout)


def _enrolled(connection, scenario: Scenario, world: World) -> set[tuple]:
    """Whom the trigger enrols at noon today, in a savepoint rolled back (the next try starts afresh)."""
    savepoint = connection.begin_nested()
    try:
        enrol_due(connection, scenario, datetime.combine(world.today, time(12), TOKYO))
        rows = select(Enrollment.customer_id, Enrollment.anchor_key, Enrollment.held_out)
        return set(connection.execute(rows).all())
    finally:
        savepoint.rollback()


@st.composite
def entries(draw: st.DrawFn) -> tuple[World, Anchor, tuple[Condition, ...], float]:
    """A scenario's anchor (customers, reservations or benefits), conditions on its facts, the data to try
    them on, and a holdout share."""
    anchor = draw(st.sampled_from([Anchor.OCCURRENCE, Anchor.RESERVATION, Anchor.BENEFIT]))
    entities = CUSTOMER_FACTS if anchor is Anchor.OCCURRENCE else (*CUSTOMER_FACTS, str(anchor))
    world, conditions = draw(segments(facts_of(*entities), TRIGGER_DATES, most=6))
    world.reachable_by_push()
    return world, anchor, conditions, draw(st.sampled_from([0.0, 0.5]))


@AGREEMENT
@given(drawn=entries())
def test_the_trigger_enrols_exactly_the_records_the_engine_conditions_hold_for(engine, drawn):
    """sql_condition and holds agree record by record, on each condition drawn and on all of them together,
    NULLs and missing rows included; the entrants' holdout draw is the one Python makes for them."""
    world, anchor, conditions, holdout = drawn
    tried = [(c,) for c in conditions] + ([conditions] if len(conditions) > 1 else [])
    with rolled_back(engine, world) as connection:
        records = subjects(anchor, world)
        facts = load_facts(connection, records, {c.fact for c in conditions})
        for segment in tried:
            scenario = _scenario(anchor, world, segment, (Channel.PUSH,), holdout)
            admitted = {
                (s.customer_id, s.anchor_key, is_held_out(scenario, s.customer_id))
                for s in records
                if all_hold(segment, facts[s.enrollment_id], world.today)
            }
            assert (segment, _enrolled(connection, scenario, world)) == (segment, admitted)


@AGREEMENT
@given(drawn=entries())
def test_explain_says_of_each_condition_what_the_engine_says(engine, drawn):
    """`entry_check` (why a customer is not in a scenario, as the CLI and the admin chat tell staff) finds a
    condition met exactly when `holds` does: on the customer's own facts, or on one of their records."""
    world, anchor, conditions, _ = drawn
    scenario = _scenario(anchor, world, conditions, (Channel.PUSH,), 0.0)
    facts = {c.fact for c in conditions}
    with rolled_back(engine, world) as connection:
        people, records = subjects(Anchor.OCCURRENCE, world), subjects(anchor, world)
        loaded = load_facts(connection, people, facts)
        own = {s.customer_id: [loaded[s.enrollment_id]] for s in people}
        loaded = load_facts(connection, records, facts)
        theirs = {c: [loaded[s.enrollment_id] for s in records if s.customer_id == c] for c in own}
        on = {c: theirs if c.fact.startswith(f"{anchor}.") else own for c in conditions}
        now = datetime.combine(world.today, time(12), TOKYO)
        for customer_id in own:
            check = entry_check(connection, scenario, customer_id, now)
            # a customer with no record of the kind the scenario starts from is told that, and its conditions are
            # not checked (each would fail on nothing)
            missing = anchor is not Anchor.OCCURRENCE and not theirs[customer_id]
            assert check.record == (str(anchor) if missing else None)
            expected = [
                (c, any(holds(c, f, world.today) for f in on[c][customer_id]))
                for c in conditions
                if not (missing and c.fact.startswith(f"{anchor}."))
            ]
            assert list(check.conditions) == expected


@AGREEMENT
@given(world=worlds(), channels=channel_lists())
def test_the_entry_permission_is_the_send_time_marketing_rule(engine, world, channels):
    """配信許可フラグ at entry (SQL) admits exactly the customers whom `refusal` lets a marketing message reach
    on one of the first message's channels: an address, the permission, and on LINE a friend who did not block."""
    scenario = _scenario(Anchor.OCCURRENCE, world, (), channels, 0.0)
    key = f"{Anchor.OCCURRENCE}:{world.today.isoformat()}"
    with rolled_back(engine, world) as connection:
        reach = load_reach(connection, world.customer_ids())
        admitted = {
            (customer_id, key, False)
            for customer_id in world.customer_ids()
            if any(refusal(c, Purpose.MARKETING, reach.get(customer_id, NOBODY)) is None for c in channels)
        }
        assert _enrolled(connection, scenario, world) == admitted


def _draw_of(scenario: Scenario, customer_id: int) -> int:
    """The customer's draw (0–9999), found from the Python side alone: held out by a share above it."""
    low, high = 0, 10_000
    while low < high:  # the smallest threshold that holds them out
        middle = (low + high) // 2
        held = is_held_out(replace(scenario, holdout=(middle + 0.5) / 10_000), customer_id)
        low, high = (low, middle) if held else (middle + 1, high)
    return low - 1


@AGREEMENT
@given(
    ids=st.lists(st.integers(1, 2**31 - 1), min_size=1, max_size=20, unique=True),
    share=st.sampled_from([0.0, 0.0001, 0.3, 0.9999]) | st.floats(0, 1, exclude_max=True),
    edge=st.sampled_from([None, 0, 1]),
    scenario_id=st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=30),
)
def test_the_holdout_draw_is_the_same_in_sql_and_python(engine, ids, share, edge, scenario_id):
    """Any customer id PostgreSQL's integer holds, any share (or, `edge`, the share just at or just above the
    first customer's draw), any scenario: scheduled (SQL) and event-started (Python) entrants are held out alike."""
    trigger, first = NthWeekdays((1,), 0, "09:00"), Send("a", "agreement.a")
    scenario = Scenario(scenario_id, 99, "一致", trigger, Anchor.OCCURRENCE, (), (first,))
    if edge is not None:
        share = (_draw_of(scenario, ids[0]) + edge + 0.5) / 10_000
    scenario = replace(scenario, holdout=share)
    world = World.of(date(2026, 6, 10))
    world.rows[CUSTOMERS.name] = [{"id": i, "created_at": STAMP, "updated_at": STAMP} for i in ids]
    with rolled_back(engine, world) as connection:
        drawn = select(CUSTOMERS.c.id, holdout_draw(scenario, CUSTOMERS.c.id))
        held = {i: bool(v) for i, v in connection.execute(drawn).all()}
    assert held == {i: is_held_out(scenario, i) for i in ids}


def test_contains_counts_letter_case_on_both_databases(engine):
    """#10's "the viewed page's URL contains /mypage/cancel" does not find /MyPage/Cancel: Python's `in` counts
    letter case, and so does the trigger's SQL on SQLite (whose LIKE would not)."""
    world = World.of(date(2026, 6, 10))
    world.add(1)
    views = [
        {"id": n, "log_code": f"L{n}", "customer_id": 1, "page_url": url, "updated_at": STAMP}
        for n, url in ((1, "https://example.com/mypage/cancel"), (2, "https://example.com/MyPage/Cancel"))
    ]
    condition = contains("page_view.page_url", "/mypage/cancel")
    with rolled_back(engine, world) as connection:
        connection.execute(VIEWS.insert(), views)
        found = select(VIEWS.c.id).where(sql_condition(condition, world.today))
        assert list(connection.execute(found).scalars()) == [1]


def test_whom_the_send_would_refuse_does_not_enter(engine):
    """A first message by LINE or SMS: a friend who blocked us (though LINE permission is on file) and a phone
    number that is an empty text are not 配信許可; a following friend is."""
    world = World.of(date(2026, 6, 10))
    world.add(1, line_user_id="U1", line_permitted=True, friend=FriendStatus.BLOCKED)
    world.add(2, sms_phone="", sms_permitted=True)
    world.add(3, line_user_id="U3", line_permitted=True, friend=FriendStatus.FOLLOWING)
    scenario = _scenario(Anchor.OCCURRENCE, world, (), (Channel.LINE, Channel.SMS), 0.0)
    with rolled_back(engine, world) as connection:
        assert {row[0] for row in _enrolled(connection, scenario, world)} == {3}


def test_explain_counts_a_missing_activity_row_as_nothing_recorded(engine):
    """#20 is for customers whose email was never acquired: one with no activity row at all enters, and explain
    says so too (it said the condition was not met)."""
    scenario = SCENARIOS["email_capture"]
    assert scenario.segment == (is_false("activity.email_acquired"),)
    world = World.of(date(2026, 6, 1))
    world.add(1, sms_phone="+819012345678", sms_permitted=True)
    with rolled_back(engine, world) as connection:
        now = datetime.combine(world.today, time(12), TOKYO)
        assert entry_check(connection, scenario, 1, now).conditions == ((scenario.segment[0], True),)
        assert {row[0] for row in _enrolled(connection, scenario, world)} == {1}
