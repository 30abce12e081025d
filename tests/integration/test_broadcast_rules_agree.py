"""Broadcast rules written twice agree on generated data: the ledger rows the broadcast's SQL writes go on the
channel the send-time rule (`refusal`) picks, to exactly the customers the dry run counts; and a broadcast's
`fact=value` segment means what the scenarios' conditions mean."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.customers.facts import column_of, load_facts
from bot.delivery.broadcast_plan import ONE_PER_CUSTOMER, plan, segment
from bot.delivery.broadcasts import queue_broadcast
from bot.delivery.rules import NOBODY, choose_channels, load_reach
from bot.platform.config import Settings
from bot.platform.db import make_engine
from bot.platform.i18n import configure_i18n
from flows.dsl import Anchor, Channel, ChannelPolicy, Condition, Pick, Purpose, equals, is_false, is_true
from flows.engine import TOKYO, all_hold
from models import Broadcast, Delivery
from tests.integration.rules_helpers import (
    RECORDS,
    STAMP,
    TODAYS,
    World,
    channel_lists,
    facts_of,
    hints,
    rolled_back,
    subjects,
    values_of,
    worlds,
)

AGREEMENT = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
BROADCASTS, DELIVERIES = Broadcast.__table__, Delivery.__table__


@pytest.fixture
def engine(database_url):
    configure_i18n()  # a broadcast's template decides between multicast and pushes
    built = make_engine(database_url)
    yield built
    built.dispose()


def _broadcast(connection, number: int, pick: Pick, channels: tuple[Channel, ...], purpose: Purpose) -> Any:
    spec = f"{pick}:{','.join(channels)}"
    row = {"name": "agreement", "template": "broadcast.general_notice", "purpose": purpose, "channels": spec}
    row |= {"status": "queued", "created_at": STAMP, "updated_at": STAMP}
    connection.execute(BROADCASTS.insert().values(id=number, **row))
    return connection.execute(select(BROADCASTS).where(BROADCASTS.c.id == number)).one()


def _written(connection, broadcast_id: int) -> list[tuple[int, str]]:
    rows = select(DELIVERIES.c.customer_id, DELIVERIES.c.channel).where(
        DELIVERIES.c.broadcast_id == broadcast_id
    )
    return sorted(connection.execute(rows).all())


@AGREEMENT
@given(
    world=worlds(),
    pick=st.sampled_from([Pick.FIRST_REACHABLE, Pick.ONLY]),
    channels=channel_lists(),
    purpose=st.sampled_from(list(Purpose)),
)
def test_a_broadcast_writes_rows_on_the_channel_the_send_rule_picks(engine, world, pick, channels, purpose):
    """The dry run (Python), the confirmed broadcast's rows and a broadcast to everyone (SQL) reach the same
    customers on the same channel: the first of the ladder that `refusal` lets carry it."""
    channels = channels[:1] if pick is Pick.ONLY else channels
    moment = datetime.combine(world.today, time(12), TOKYO)
    with rolled_back(engine, world) as connection:
        reach = load_reach(connection, world.customer_ids())
        policy = ChannelPolicy(pick, channels)
        picked = {c: choose_channels(policy, purpose, reach.get(c, NOBODY))[0] for c in world.customer_ids()}
        expected = sorted((c, str(chosen[0])) for c, chosen in picked.items() if chosen)
        confirmed = _broadcast(connection, 1, pick, channels, purpose)
        found = plan(connection, Settings(), confirmed, moment)
        queue_broadcast(connection, confirmed, moment, sorted(found.recipients))
        everyone = _broadcast(connection, 2, pick, channels, purpose)
        queue_broadcast(connection, everyone, moment)
        assert sorted((c, str(channel)) for c, channel in found.recipients.items()) == expected
        assert _written(connection, 1) == expected
        assert _written(connection, 2) == expected


def _condition(fact: str, value: Any) -> Condition:
    """The scenarios' condition for a broadcast's `fact=value` (a day comes as its ISO text, as staff type it)."""
    if isinstance(value, bool):
        return is_true(fact) if value else is_false(fact)
    return equals(fact, date.fromisoformat(value) if column_of(fact).type.python_type is date else value)


@st.composite
def filtered(draw: st.DrawFn) -> tuple[World, dict[str, Any]]:
    """One to three `fact=value` filters as the admin chat types them (flags, numbers, days, texts), and the
    customers to try them on."""
    today = draw(st.sampled_from(TODAYS))
    facts = [
        f for f in facts_of(*ONE_PER_CUSTOMER, *RECORDS) if column_of(f).type.python_type is not datetime
    ]
    chosen = draw(st.lists(st.sampled_from(facts), min_size=1, max_size=3, unique=True))
    wanted = {}
    for fact in chosen:
        value = draw(values_of(fact, today))
        wanted[fact] = value.isoformat() if isinstance(value, date) else value
    conditions = tuple(_condition(fact, value) for fact, value in wanted.items())
    return draw(worlds(today, hints=hints(conditions, today))), wanted


@AGREEMENT
@given(drawn=filtered())
def test_a_broadcast_segment_means_what_the_scenario_conditions_mean(engine, drawn):
    """`segment` selects a customer exactly when their own facts hold and, for each kind of record filtered
    on, one of their records holds every filter on it (false: also never recorded)."""
    world, wanted = drawn
    by_entity: dict[str, list[Condition]] = {}
    for fact, value in wanted.items():
        entity = fact.partition(".")[0]
        by_entity.setdefault(entity if entity in RECORDS else "customer", []).append(_condition(fact, value))
    with rolled_back(engine, world) as connection:
        held: dict[str, dict[int, list[bool]]] = {}  # entity → customer → whether each record holds
        for entity, conditions in by_entity.items():
            anchor = Anchor.OCCURRENCE if entity == "customer" else Anchor(entity)
            records = subjects(anchor, world)
            facts = load_facts(connection, records, {c.fact for c in conditions})
            held[entity] = {}
            for s in records:
                holds = all_hold(tuple(conditions), facts[s.enrollment_id], world.today)
                held[entity].setdefault(s.customer_id, []).append(holds)
        expected = [c for c in world.customer_ids() if all(any(held[e].get(c, [])) for e in by_entity)]
        assert list(connection.execute(segment(wanted)).scalars()) == expected


def test_an_empty_address_is_no_address_for_a_broadcast(engine):
    """A customer whose email is an empty text gets the broadcast on the next channel of the ladder: the send
    would refuse email (no_address) and leave them with nothing."""
    world = World.of(date(2026, 6, 10))
    world.add(1, email_main="", email_permitted=True, sms_phone="+819012345678", sms_permitted=True)
    with rolled_back(engine, world) as connection:
        ladder = (Channel.EMAIL, Channel.SMS)
        broadcast = _broadcast(connection, 1, Pick.FIRST_REACHABLE, ladder, Purpose.TRANSACTIONAL)
        queue_broadcast(connection, broadcast, STAMP)
        assert _written(connection, 1) == [(1, "sms")]
