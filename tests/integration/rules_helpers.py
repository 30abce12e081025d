"""Generated data for the rules written twice (Python for one customer, SQL for many): customers with their
contract, channels, activity, LINE friendship, reservations and benefits, boundary values and gaps (no contract
row, a flag never set, an empty text), and conditions of every kind the DSL has. The conditions are drawn first and the data around them, so
that a value that decides a condition (its own, a day off, the other letter case) comes up often.

Each example is written in one transaction that the test rolls back, so examples never see each other's rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from hypothesis import strategies as st
from sqlalchemy import Column, Connection, Engine, Table

from bot.customers.facts import ACTIVITY, CHANNELS, CONTRACTS, CUSTOMERS, ENTITIES, Subject
from bot.delivery.rules import CHANNEL_COLUMNS, LINE_USERS
from flows.dsl import Anchor, Channel, Condition, Op
from flows.engine import TOKYO
from models import FriendStatus

# today around month, year and leap-day ends; days a day, a week, a month and a year away
TODAYS = [date(2024, 2, 29), date(2024, 12, 31), date(2025, 1, 1), date(2025, 3, 1), date(2026, 6, 10)]
DAYS = [-366, -365, -31, -30, -7, -1, 0, 1, 7, 30, 31, 365, 366]
SECONDS = [-1, 0, 1, 9 * 3600 - 1, 9 * 3600]  # around midnight in Japan, and midnight UTC (09:00 JST)
INTEGERS = [-(2**31), -1, 0, 1, 2, 2**31 - 1]  # PostgreSQL's integer range
# letter case, LIKE's wildcards and escape character, spaces, full- and half-width Japanese (the empty text is
# drawn on its own, as often as any of these together)
TEXTS = ["aB", "a", "A", "ab", "Ab", "a_b", "a%b", "a/b", "%", "_", "/", " a", "東京都", "東京", "ﾄｳｷｮｳ"]
KEYS = ["k1", "k2", "K1", "k"]  # unique columns hold their row's key: k1, k2 …
MANAGED = {"id", "customer_id", "created_at", "updated_at", "erased_at"}  # set by the builder, not facts
STAMP = datetime(2026, 1, 1, tzinfo=TOKYO)
PER_CUSTOMER = (CONTRACTS, CHANNELS, ACTIVITY)  # at most one row each, or none
RECORDS = ("reservation", "benefit")  # anchor records, several per customer
TABLE_OF = {table.name: table for table in (*ENTITIES.values(), LINE_USERS)}
TABLES = [
    CUSTOMERS.name,
    *(t.name for t in PER_CUSTOMER),
    LINE_USERS.name,
    *(ENTITIES[e].name for e in RECORDS),
]


@dataclass
class World:
    """The rows of a few customers, table by table, as they are inserted."""

    today: date
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def of(cls, today: date) -> World:
        return cls(today, {name: [] for name in TABLES})

    def add(self, customer_id: int, friend: FriendStatus | None = None, **channels: Any) -> None:
        """A customer written by hand: the channel cells given (the others NULL), a LINE friendship if any."""
        self.rows[CUSTOMERS.name].append({"id": customer_id, "created_at": STAMP, "updated_at": STAMP})
        cells = {column.name: None for column in CHANNELS.c} | {"updated_at": STAMP}
        self.rows[CHANNELS.name].append(cells | channels | {"customer_id": customer_id})
        if friend is not None:
            self.rows[LINE_USERS.name].append(
                {"line_user_id": channels["line_user_id"], "friend_status": friend}
                | {"created_at": STAMP, "updated_at": STAMP}
            )

    def customer_ids(self) -> list[int]:
        return [row["id"] for row in self.rows[CUSTOMERS.name]]

    def records(self, entity: str) -> list[dict[str, Any]]:
        return self.rows[ENTITIES[entity].name]

    def reachable_by_push(self) -> None:
        """Every customer has a device token and the push permission (the other channels stay as drawn)."""
        rows = {row["customer_id"]: row for row in self.rows[CHANNELS.name]}
        for customer_id in self.customer_ids():
            row = rows.get(customer_id) or {c.name: None for c in CHANNELS.c} | {"customer_id": customer_id}
            row |= {"fcm_token": "token", "push_permitted": True, "updated_at": STAMP}
            if customer_id not in rows:
                self.rows[CHANNELS.name].append(row)


@contextmanager
def rolled_back(engine: Engine, world: World) -> Iterator[Connection]:
    """A connection that sees `world`'s rows; nothing of it stays."""
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            for name in TABLES:
                if world.rows[name]:
                    connection.execute(TABLE_OF[name].insert(), world.rows[name])
            yield connection
        finally:
            transaction.rollback()


def subjects(anchor: Anchor, world: World) -> list[Subject]:
    """Every record a scenario on `anchor` could enrol, named as the runner names it (its facts are loaded by
    this name): the customers themselves (occurrence), or their reservations or benefits."""
    if anchor is Anchor.OCCURRENCE:
        key = f"{anchor}:{world.today.isoformat()}"
        return [Subject(n, customer_id, anchor, key) for n, customer_id in enumerate(world.customer_ids())]
    code = "id" if anchor is Anchor.BENEFIT else "reservation_code"
    records = world.records(str(anchor))
    return [Subject(n, row["customer_id"], anchor, f"{anchor}:{row[code]}") for n, row in enumerate(records)]


def facts_of(*entities: str) -> list[str]:
    return [f"{entity}.{c.name}" for entity in entities for c in ENTITIES[entity].c if c.name not in MANAGED]


def _column(fact: str) -> Column:
    entity, _, name = fact.partition(".")
    return ENTITIES[entity].c[name]


def _kind(column: Column) -> type:
    return column.type.python_type


def _keyed(column: Column) -> bool:
    """A unique or required column (a 顧客ID, a LINE user id, a 来店予約ID) holds its row's own key."""
    return bool(column.unique) or not column.nullable


def _pool(column: Column) -> list[Any]:
    """The values a cell of the column is drawn from, before it is placed in time (a day or a second offset
    for days and moments)."""
    kind = _kind(column)
    return {bool: [True, False], int: INTEGERS, date: DAYS, datetime: SECONDS}.get(kind, TEXTS)


def _placed(column: Column, drawn: Any, today: date) -> Any:
    if drawn is None or _kind(column) not in (date, datetime):
        return drawn
    if _kind(column) is date:
        return today + timedelta(days=drawn)
    return datetime.combine(today, time(0), TOKYO) + timedelta(seconds=drawn)


Hints = dict[Column, tuple[Any, ...]]  # per column, the drawn values that decide the conditions on it


def _row(draw: st.DrawFn, table: Table, today: date, key: int, hints: Hints) -> dict[str, Any]:
    """A row whose columns named in `hints` are drawn (a hinted value, NULL or the empty text, or any of the
    pool, about equally often); the others NULL, or the row's key if unique."""
    row: dict[str, Any] = {}
    for column in table.c:
        if column.name in MANAGED:
            continue
        if _keyed(column):
            present = column not in hints or not column.nullable or draw(st.sampled_from([True, False]))
            row[column.name] = f"k{key}" if present else None
        elif column in hints:
            empty = st.sampled_from([None, ""] if _kind(column) is str else [None])
            drawn = st.sampled_from(hints[column]) | empty if hints[column] else empty
            row[column.name] = _placed(column, draw(drawn | st.sampled_from(_pool(column))), today)
        else:
            row[column.name] = None
    return row | {name: STAMP for name in ("created_at", "updated_at") if name in table.c}


# a channel's address and marketing permission together, the ones that decide first
REACH = [(True, True), ("", True), (None, True), (True, False), (True, None), (None, None)]
FRIENDS = [FriendStatus.BLOCKED, FriendStatus.FOLLOWING, FriendStatus.UNKNOWN, None]  # None: never heard of


def _reach(
    draw: st.DrawFn, row: dict[str, Any], key: int, taken: set[str], hints: Hints
) -> list[dict[str, Any]]:
    """Each channel's address and permission on a customer_channels row (unless a condition is on them), and
    the LINE friendship to go with it. A unique address (the LINE user id) is empty for one customer at most."""
    for address, permitted in CHANNEL_COLUMNS.values():
        if CHANNELS.c[address] in hints or CHANNELS.c[permitted] in hints:
            continue
        given_address, row[permitted] = draw(st.sampled_from(REACH))
        row[address] = f"k{key}" if given_address is True else given_address
        if CHANNELS.c[address].unique:
            row[address] = None if row[address] in taken else row[address]
            taken.add(row[address])
    status = draw(st.sampled_from(FRIENDS))
    if row["line_user_id"] is None or status is None:
        return []
    friend = {"line_user_id": row["line_user_id"], "friend_status": status}
    return [friend | {"created_at": STAMP, "updated_at": STAMP}]


@st.composite
def worlds(
    draw: st.DrawFn,
    today: date | None = None,
    trigger_dates: dict[str, str] | None = None,
    hints: Hints | None = None,
) -> World:
    """1 to 4 customers, each maybe with a contract, channels and activity row, the LINE friendship in any
    state, and up to two reservations and benefits. Only the columns in `hints` and the channels are drawn
    (nothing else decides a rule); `trigger_dates` ({entity: column}) are today."""
    world, hints = World.of(today or draw(st.sampled_from(TODAYS))), hints or {}
    record_key, taken = 0, set()
    for customer_id in range(1, draw(st.sampled_from([4, 3, 2, 1])) + 1):
        customer = _row(draw, CUSTOMERS, world.today, customer_id, hints)
        world.rows[CUSTOMERS.name].append({"id": customer_id, **customer})
        for table in PER_CUSTOMER:
            if draw(st.sampled_from([True, False])):
                row = {"customer_id": customer_id, **_row(draw, table, world.today, customer_id, hints)}
                if table is CHANNELS:
                    world.rows[LINE_USERS.name] += _reach(draw, row, customer_id, taken, hints)
                world.rows[table.name].append(row)
        for entity in RECORDS:
            table = ENTITIES[entity]
            for _ in range(draw(st.sampled_from([1, 0, 2]))):
                record_key += 1
                row = _row(draw, table, world.today, record_key, hints)
                if trigger_dates and entity in trigger_dates:
                    row[trigger_dates[entity]] = world.today
                world.rows[table.name].append({"id": record_key, "customer_id": customer_id, **row})
    return world


def values_of(fact: str, today: date) -> st.SearchStrategy[Any]:
    """A value the fact may have (never NULL): the keys for a unique column."""
    column = _column(fact)
    if _keyed(column):
        return st.sampled_from(KEYS)
    return st.sampled_from(_pool(column)).map(lambda drawn: _placed(column, drawn, today))


# every operator of the DSL, with the kind of fact it applies to; each pair is drawn as often as another
OPERATORS = [
    (bool, Op.IS_TRUE),
    (bool, Op.IS_FALSE),
    (bool, Op.EQUALS),
    (date, Op.DAYS_SINCE),
    (date, Op.DAYS_UNTIL),
    (date, Op.EQUALS),
    (str, Op.CONTAINS),
    (str, Op.EQUALS),
    (int, Op.EQUALS),
    (datetime, Op.EQUALS),
]


@st.composite
def condition(draw: st.DrawFn, facts: list[str], today: date) -> Condition:
    """A condition on one of `facts`: flags true, false or equal; days since, until or equal; texts containing
    or equal; numbers and moments equal."""
    kinds = {_kind(_column(fact)) for fact in facts}
    kind, op = draw(st.sampled_from([pair for pair in OPERATORS if pair[0] in kinds]))
    fact = draw(st.sampled_from([f for f in facts if _kind(_column(f)) is kind]))
    if op in (Op.IS_TRUE, Op.IS_FALSE):
        return Condition(fact, op)
    if op in (Op.DAYS_SINCE, Op.DAYS_UNTIL):
        return Condition(fact, op, draw(st.sampled_from(DAYS)))
    if kind is str:
        return Condition(fact, op, draw(st.sampled_from(["", *(KEYS if _keyed(_column(fact)) else TEXTS)])))
    return Condition(fact, op, draw(values_of(fact, today)))


def hints(conditions: tuple[Condition, ...], today: date) -> Hints:
    """The drawn cell values on which each condition turns: its own value, and next to it (a day either side,
    the other letter case)."""
    found: Hints = {}
    for c in conditions:
        column = _column(c.fact)
        if c.op is Op.EQUALS and _kind(column) is date:
            near = ((c.value - today).days,)
        elif c.op is Op.EQUALS and _kind(column) is datetime:
            near = (int((c.value - datetime.combine(today, time(0), TOKYO)).total_seconds()),)
        elif c.op in (Op.DAYS_SINCE, Op.DAYS_UNTIL):
            offset = -c.value if c.op is Op.DAYS_SINCE else c.value
            near = (offset, offset - 1, offset + 1)
        elif c.op in (Op.EQUALS, Op.CONTAINS) and _kind(column) is str:
            near = (c.value, c.value.swapcase(), f"{c.value}b", f"{c.value.swapcase()}b")
        else:
            near = (c.value,) if c.op is Op.EQUALS else ()
        found[column] = found.get(column, ()) + near
    return found


@st.composite
def segments(
    draw: st.DrawFn, facts: list[str], trigger_dates: dict[str, str] | None = None, most: int = 2
) -> tuple[World, tuple[Condition, ...]]:
    """1 to `most` conditions on `facts` (AND-ed, they make a segment: the DSL has no OR or NOT), and the
    customers to try them on, whose values often decide them."""
    today = draw(st.sampled_from(TODAYS))
    segment = tuple(draw(st.lists(condition(facts, today), min_size=1, max_size=most)))
    return draw(worlds(today, trigger_dates, hints(segment, today))), segment


def channel_lists(most: int = 4) -> st.SearchStrategy[tuple[Channel, ...]]:
    return st.lists(st.sampled_from(list(Channel)), min_size=1, max_size=most, unique=True).map(tuple)
