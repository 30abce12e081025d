"""A contract closes what led to it: once a customer has contracted for a product type, their earlier document
requests, quotes and store-visit reservations for that type are marked contracted (契約フラグ), so the
follow-ups that exit on a contract (#1–#8) stop, whichever file or event brought the contract.

A contract is known from F5 (契約フラグ with the current product type, dated by its latest renewal or first
start) or from a request, quote or reservation that says 契約フラグ = 真 (dated by its own date). It marks the
customer's records of the same product type (or of an unknown one, on either side) that are dated on or before
it: a request made after the contract is a new interest, left open. Run after every write of customer data
(`bot/imports/writer.py`, which the events API shares), over the customers written.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, func, literal, or_, select, true, union_all, update

from bot.customers.derived import CONTRACTS, DOCUMENT_REQUESTS, QUOTES, RESERVATIONS
from bot.platform.bulk import among, chunks, each_id

# each record table with the date a record is of
DATED: dict[str, tuple[Table, ColumnElement]] = {
    "document_requests": (DOCUMENT_REQUESTS, DOCUMENT_REQUESTS.c.requested_on),
    "quotes": (QUOTES, QUOTES.c.quoted_on),
    "reservations": (
        RESERVATIONS,
        func.coalesce(RESERVATIONS.c.visited_on, RESERVATIONS.c.visit_on, RESERVATIONS.c.reserved_on),
    ),
}


def _contracts():  # type: ignore[no-untyped-def]
    """Every contract known, one row each: customer, product type, date (any may be unknown but the customer)."""
    summary = select(
        CONTRACTS.c.customer_id,
        CONTRACTS.c.current_product_type_code.label("product_type_code"),
        func.coalesce(CONTRACTS.c.last_renewal_on, CONTRACTS.c.first_start_on).label("on"),
    ).where(CONTRACTS.c.contracted.is_(true()))
    records = [
        select(table.c.customer_id, table.c.product_type_code, dated.label("on")).where(
            table.c.contracted.is_(true())
        )
        for table, dated in DATED.values()
    ]
    return union_all(summary, *records).subquery("contracts")


def mark_contracted(
    connection: Connection, customer_ids: Collection[int], now: datetime
) -> dict[str, list[Any]]:
    """Mark the customers' open records that a contract of theirs closes; {table: ids of the records marked}."""
    marked: dict[str, list[Any]] = {}
    ids = sorted(set(customer_ids))
    if not ids:
        return marked
    contracts = _contracts()
    postgres = connection.dialect.name == "postgresql"
    for name, (table, dated) in DATED.items():
        closing = (
            select(literal(1))
            .select_from(contracts)
            .where(
                contracts.c.customer_id == table.c.customer_id,
                or_(
                    contracts.c.product_type_code.is_(None),
                    table.c.product_type_code.is_(None),
                    contracts.c.product_type_code == table.c.product_type_code,
                ),
                or_(contracts.c.on.is_(None), dated.is_(None), dated <= contracts.c.on),
            )
            .exists()
        )
        open_ = (table.c.contracted.is_not(true()), closing)
        if postgres:
            # One customer at a time (LATERAL), so their records and contracts are index probes: for a batch of
            # ids as a set, the planner hashes every contract and record on file, a cost that grows with them.
            given = each_id(ids)
            theirs = select(table.c.id).where(table.c.customer_id == given.c.id, *open_).offset(0).lateral()
            marking = select(theirs.c.id).select_from(given.join(theirs, true())).scalar_subquery()
            statements = [update(table).where(table.c.id.in_(marking))]
        else:
            statements = [
                update(table).where(among(connection, table.c.customer_id, chunk), *open_)
                for chunk in chunks(connection, ids)
            ]
        for statement in statements:
            marking_done = statement.values(contracted=True, updated_at=now).returning(table.c.id)
            marked.setdefault(name, []).extend(connection.execute(marking_done).scalars())
    return {name: found for name, found in marked.items() if found}
