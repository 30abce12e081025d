"""The facts scenarios speak of (`reservation.cancelled`, `contract.next_renewal_on`, `customer.prefecture` …),
where each one lives in the database, and what each anchor record is.

The same names serve both sides of the engine: the trigger's SQL (which customers enter today) and the facts
handed to the pure engine for one enrollment (branches on live data, engagement with earlier messages).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, ColumnElement, Connection, Table, select

from bot.customers.derived import CUSTOMERS, DERIVED, per_customer
from bot.customers.derived import REPORTED as ACTIVITY
from bot.platform.bulk import among, chunks, select_each, select_map
from flows.dsl import Anchor
from flows.engine import engaged_fact
from models import (
    CampaignBenefit,
    ContractSummary,
    CustomerChannels,
    Delivery,
    DocumentRequest,
    LineMembership,
    PageView,
    Quote,
    Reservation,
)

CONTRACTS: Table = ContractSummary.__table__
CHANNELS: Table = CustomerChannels.__table__
ENTITIES: dict[str, Table] = {
    "customer": CUSTOMERS,
    "contract": CONTRACTS,
    "channel": CHANNELS,
    "activity": ACTIVITY,
    "document_request": DocumentRequest.__table__,
    "quote": Quote.__table__,
    "reservation": Reservation.__table__,
    "page_view": PageView.__table__,
    "benefit": CampaignBenefit.__table__,
    "line_member": LineMembership.__table__,
}
ONE_PER_CUSTOMER = ("customer", "contract", "channel", "activity")  # one row each, joined by `per_customer`


@dataclass(frozen=True)
class AnchorSource:
    """Where the records of one anchor kind live, and the key that names one of them in `anchor_key`.

    A per-customer anchor is named by a date of the customer's row (a renewal date, a registration date, a
    day of viewing): its facts are the customer's, and its key is that date."""

    entity: str
    key: str  # column whose value, after "<anchor>:", is the enrollment's anchor key
    per_customer: bool = False


ANCHORS: dict[Anchor, AnchorSource] = {
    Anchor.DOCUMENT_REQUEST: AnchorSource("document_request", "request_code"),
    Anchor.QUOTE: AnchorSource("quote", "quote_code"),
    Anchor.RESERVATION: AnchorSource("reservation", "reservation_code"),
    Anchor.BENEFIT: AnchorSource("benefit", "id"),
    Anchor.CONTRACT_YEAR: AnchorSource("contract", "next_renewal_on", per_customer=True),
    Anchor.CONTRACT_START: AnchorSource("contract", "first_start_on", per_customer=True),
    Anchor.PAGE_VIEW: AnchorSource("page_view", "viewed_at", per_customer=True),
    Anchor.LINE_MEMBER: AnchorSource("line_member", "registered_on", per_customer=True),
}


class UnknownFact(ValueError):
    pass


def column_of(fact: str) -> ColumnElement:
    """The column behind `entity.column`, e.g. reservation.visit_on → reservations.visit_on; a fact computed
    from the customer's records (activity.email_acquired …, bot/customers/derived.py) is its expression, which
    reads the tables `per_customer` joins."""
    if fact in DERIVED:
        return DERIVED[fact][0].label(fact.partition(".")[2])
    entity, _, name = fact.partition(".")
    table = ENTITIES.get(entity)
    if table is None or name not in table.c:
        raise UnknownFact(f"unknown fact {fact!r} (entities: {', '.join(ENTITIES)})")
    return table.c[name]


def anchor_code(anchor_key: str) -> str:
    return anchor_key.partition(":")[2]


@dataclass(frozen=True)
class Subject:
    """What the facts are about: an enrollment's customer, anchor record and sent messages."""

    enrollment_id: int
    customer_id: int
    anchor: Anchor
    anchor_key: str


def load_facts(
    connection: Connection, subjects: list[Subject], facts: Iterable[str]
) -> dict[int, dict[str, Any]]:
    """{enrollment id: {fact: value}} for the named facts, plus engagement with each enrollment's messages.

    One query per table involved, whatever the number of enrollments.
    """
    wanted: dict[str, list[str]] = {}
    for fact in facts:
        column = column_of(fact)
        wanted.setdefault(fact.partition(".")[0], []).append(column.name)
    out: dict[int, dict[str, Any]] = {s.enrollment_id: {} for s in subjects}
    customer_ids = {s.customer_id for s in subjects}
    own = [fact for fact in dict.fromkeys(facts) if fact.partition(".")[0] in ONE_PER_CUSTOMER]
    if own:
        rows = _per_customer_rows(connection, customer_ids, own)
        for s in subjects:
            row = rows.get(s.customer_id)
            out[s.enrollment_id].update(
                {fact: None if row is None else row[i + 1] for i, fact in enumerate(own)}
            )
    for entity, columns in wanted.items():
        if entity in ONE_PER_CUSTOMER:
            continue
        anchored = next(
            (a for a, src in ANCHORS.items() if src.entity == entity and not src.per_customer), None
        )
        if anchored is not None:
            key = ANCHORS[anchored].key
            mine = [
                s for s in subjects if s.anchor is anchored
            ]  # a reservation fact of a reservation's enrollment
            codes = (_typed(ENTITIES[entity].c[key], anchor_code(s.anchor_key)) for s in mine)
            rows = select_map(connection, ENTITIES[entity], key, codes, *columns)
            for s in subjects:
                code = _typed(ENTITIES[entity].c[key], anchor_code(s.anchor_key))
                row = rows.get(code) if s.anchor is anchored else None
                out[s.enrollment_id].update({f"{entity}.{c}": getattr(row, c, None) for c in columns})
            continue
        rows = select_map(connection, ENTITIES[entity], "customer_id", customer_ids, *columns)
        for s in subjects:
            row = rows.get(s.customer_id)
            out[s.enrollment_id].update({f"{entity}.{c}": getattr(row, c, None) for c in columns})
    _engagement(connection, subjects, out)
    return out


def _per_customer_rows(connection: Connection, customer_ids: set[int], facts: list[str]) -> dict[int, Any]:
    """{customer id: (id, *facts)}: the customer's own facts, stored or computed, in one query per chunk."""
    statement = select(CUSTOMERS.c.id, *(column_of(fact) for fact in facts)).select_from(per_customer())
    return {
        row[0]: row
        for chunk in chunks(connection, sorted(customer_ids))
        for row in connection.execute(statement.where(among(connection, CUSTOMERS.c.id, chunk)))
    }


def _typed(column: Column, code: str) -> object:
    """An anchor code as the key column's type (a benefit is named by its integer id)."""
    return int(code) if column.type.python_type is int and code.isdigit() else code


def _engagement(connection: Connection, subjects: list[Subject], out: dict[int, dict[str, Any]]) -> None:
    table = Delivery.__table__
    ids = [s.enrollment_id for s in subjects]
    if not ids:
        return
    statement = select(
        table.c.enrollment_id, table.c.step, table.c.opened_at, table.c.clicked_at, table.c.tapped_at
    )
    for enrollment_id, step, opened, clicked, tapped in select_each(
        connection, statement, table.c.enrollment_id, ids
    ):
        facts = out[enrollment_id]
        # LINE reports no reads: a tap or a click on a message shows it was opened too
        if opened or clicked or tapped:
            facts[engaged_fact(step, "opened")] = True
        if clicked:
            facts[engaged_fact(step, "clicked")] = True
        if tapped:
            facts[engaged_fact(step, "tapped")] = True
