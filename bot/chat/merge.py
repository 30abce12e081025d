"""One person, one record: when a prospect turns out to be a customer (ID連携 moves the LINE address of the
friend-add prospect to the insurer's customer), what the prospect did follows them.

`merge_customers` is the one place that says what moves, for every path that merges two records: the service
requests filed in the chat (so 「受付状況を見る」 still lists them), store-visit bookings, document requests and
quotes, coupons and benefits, the chat's messages and staff notices, the journeys the LINE user started
(the welcome series) with their messages, referrals, and the language they chose. The dialog a LINE user is in
is keyed by their LINE user and follows the address by itself. The prospect's record stays, with its consent
history, as the trace of what happened before the link.

Where the customer already holds the same thing (a coupon of the same campaign and number, a benefit of the same
campaign, a journey for the same anchor), the customer's stays and the prospect's is left where it was.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import Connection, Table, and_, select, update

from bot.offers.referrals import follow_link
from bot.scenarios.journeys import follow_line_address
from flows.dsl import Scenario
from models import (
    CampaignBenefit,
    Coupon,
    Customer,
    Delivery,
    DocumentRequest,
    Enrollment,
    PageView,
    Quote,
    Reservation,
    ServiceRequest,
    StaffNotice,
)

log = logging.getLogger(__name__)
CUSTOMERS = Customer.__table__
DELIVERIES = Delivery.__table__
ENROLLMENTS = Enrollment.__table__
# rows that are the prospect's alone: they move whole
OWNED: tuple[Table, ...] = (
    ServiceRequest.__table__,
    Reservation.__table__,
    DocumentRequest.__table__,
    Quote.__table__,
    PageView.__table__,
    StaffNotice.__table__,
)
# rows the customer may hold already, one per these columns: those move only where the customer has none
ONE_EACH: tuple[tuple[Table, tuple[str, ...]], ...] = (
    (Coupon.__table__, ("campaign_code", "seq")),
    (CampaignBenefit.__table__, ("campaign_code",)),
)


def merge_customers(
    connection: Connection,
    from_id: int,
    into_id: int,
    now: datetime,
    scenarios: Mapping[str, Scenario] | None = None,
) -> dict[str, int]:
    """Move what the prospect `from_id` did to the customer `into_id`; {table: rows moved}. `scenarios` (the
    running catalogue) lets the journeys the LINE user started follow them."""
    if from_id == into_id:
        return {}
    moved: dict[str, int] = {}
    for table in OWNED:
        moved[table.name] = _move(connection, table, from_id, into_id)
    for table, unique in ONE_EACH:
        moved[table.name] = _move_unclaimed(connection, table, unique, from_id, into_id)
    moved[ENROLLMENTS.name] = follow_line_address(connection, scenarios or {}, from_id, into_id)
    moved[DELIVERIES.name] = _move_messages(connection, from_id, into_id)
    follow_link(connection, from_id, into_id)  # referrals made or received as a prospect
    _adopt_language(connection, from_id, into_id, now)
    log.info(
        "customers merged from=%s into=%s moved=%s", from_id, into_id, {k: v for k, v in moved.items() if v}
    )
    return moved


def _move(connection: Connection, table: Table, from_id: int, into_id: int) -> int:
    statement = update(table).where(table.c.customer_id == from_id).values(customer_id=into_id)
    return connection.execute(statement).rowcount


def _move_unclaimed(
    connection: Connection, table: Table, unique: tuple[str, ...], from_id: int, into_id: int
) -> int:
    theirs = table.alias("theirs")
    claimed = (
        select(theirs.c.id)
        .where(theirs.c.customer_id == into_id, *(theirs.c[name] == table.c[name] for name in unique))
        .exists()
    )
    statement = update(table).where(table.c.customer_id == from_id, ~claimed).values(customer_id=into_id)
    return connection.execute(statement).rowcount


def _move_messages(connection: Connection, from_id: int, into_id: int) -> int:
    """The chat's answers and notices (no journey, no broadcast), and the messages of the journeys that moved:
    the conversation's history is the customer's, and a message still to send goes to the address it follows.
    A broadcast's rows stay: the customer may have had the same broadcast."""
    moved_journeys = select(ENROLLMENTS.c.id).where(ENROLLMENTS.c.customer_id == into_id)
    statement = (
        update(DELIVERIES)
        .where(
            DELIVERIES.c.customer_id == from_id,
            DELIVERIES.c.broadcast_id.is_(None),
            (DELIVERIES.c.enrollment_id.is_(None)) | DELIVERIES.c.enrollment_id.in_(moved_journeys),
        )
        .values(customer_id=into_id)
    )
    return connection.execute(statement).rowcount


def _adopt_language(connection: Connection, from_id: int, into_id: int, now: datetime) -> None:
    """The language the LINE user chose (or LINE's profile gave) goes with them, unless the customer has one."""
    language = connection.execute(select(CUSTOMERS.c.language).where(CUSTOMERS.c.id == from_id)).scalar()
    if language is not None:
        connection.execute(
            update(CUSTOMERS)
            .where(and_(CUSTOMERS.c.id == into_id, CUSTOMERS.c.language.is_(None)))
            .values(language=language, updated_at=now)
        )
