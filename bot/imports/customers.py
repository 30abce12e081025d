"""Finding the customer a data-file row is about.

Rows with a 顧客ID are that customer. Rows without one (資料請求, 見積, 来店予約 come from prospects) are matched
by LINE ID, then main email, then SMS phone, then web visitor id; a person seen for the first time becomes a
new customer without a 顧客ID. When a 顧客ID appears for the first time and its contact details match such a
prospect, the prospect is that customer (資料請求 → 契約): it takes the 顧客ID instead of a second record
being made.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from bot.imports.fields import PERSON_FIELDS
from bot.imports.reader import Row
from bot.imports.tally import Tally, upsert_counted
from bot.platform.bulk import select_map, upsert_reporting
from models import Customer, CustomerChannels

IDENTITIES = ("line_user_id", "email_main", "sms_phone", "visitor_id")
CUSTOMERS = Customer.__table__
CHANNELS = CustomerChannels.__table__


def resolve_customers(
    connection: Connection, rows: list[Row], now: datetime, tally: Tally | None = None
) -> dict[int, int]:
    """{row line: customer id} for every row that names or identifies a person; others get an error."""
    resolved: dict[int, int] = {}
    coded = [row for row in rows if row.values.get("customer_code")]
    if coded:
        promoted = _promote_prospects(connection, coded, now)
        done = upsert_reporting(
            connection,
            CUSTOMERS,
            (_person(row) | {"customer_code": row.values["customer_code"]} for row in coded),
            ["customer_code"],
            now,
            identity="id",
        )
        resolved.update({row.line: done.identity((row.values["customer_code"],)) for row in coded})
        if tally:
            tally.record(CUSTOMERS.name, done)
            tally.note(CUSTOMERS.name, updated=promoted)
    uncoded = [row for row in rows if not row.values.get("customer_code")]
    if uncoded:
        resolved.update(_match_by_contact(connection, uncoded, now, tally))
    return resolved


def _promote_prospects(connection: Connection, rows: list[Row], now: datetime) -> set[int]:
    """Give a new 顧客ID to the prospect (a customer without one) whose contact details the row shares; returns
    the prospects promoted."""
    known = select_map(connection, CUSTOMERS, "customer_code", (row.values["customer_code"] for row in rows))
    newcomers = [row for row in rows if row.values["customer_code"] not in known]
    if not newcomers:
        return set()
    prospects = _known_identities(connection, newcomers, prospects_only=True)
    promoted: set[int] = set()
    for row in newcomers:
        identities = [(name, row.values.get(name)) for name in IDENTITIES if row.values.get(name)]
        match = next(
            (prospects[i] for i in identities if i in prospects and prospects[i] not in promoted), None
        )
        if match is not None:
            promoted.add(match)
            connection.execute(
                CUSTOMERS.update()
                .where(CUSTOMERS.c.id == match, CUSTOMERS.c.customer_code.is_(None))
                .values(customer_code=row.values["customer_code"], updated_at=now)
            )
    return promoted


def _person(row: Row) -> dict[str, Any]:
    return {name: row.values.get(name) for name in PERSON_FIELDS}


def _match_by_contact(
    connection: Connection, rows: list[Row], now: datetime, tally: Tally | None
) -> dict[int, int]:
    known = _known_identities(connection, rows)
    resolved: dict[int, int] = {}
    newcomers: dict[tuple[str, Any], list[Row]] = {}
    for row in rows:
        identities = [(name, row.values.get(name)) for name in IDENTITIES if row.values.get(name)]
        if not identities:
            row.errors.append("no 顧客ID, LINE ID, email, phone or visitor id to tell who this is")
            continue
        match = next((known[identity] for identity in identities if identity in known), None)
        if match is not None:
            resolved[row.line] = match
        else:
            newcomers.setdefault(identities[0], []).append(row)
    if newcomers:
        groups = list(newcomers.values())
        created = (
            connection.execute(
                CUSTOMERS.insert().returning(CUSTOMERS.c.id, sort_by_parameter_order=True),
                [{"created_at": now, "updated_at": now} for _ in groups],
            )
            .scalars()
            .all()
        )
        for customer_id, group in zip(created, groups, strict=True):
            resolved.update({row.line: customer_id for row in group})
        if tally:
            tally.note(CUSTOMERS.name, new=created)
    upsert_counted(
        connection,
        tally,
        CUSTOMERS,
        ({"id": resolved[row.line]} | _person(row) for row in rows if row.line in resolved),
        ["id"],
        now,
    )
    return resolved


def _known_identities(
    connection: Connection, rows: list[Row], *, prospects_only: bool = False
) -> dict[tuple[str, Any], int]:
    """{(identity, value): customer id} for the rows' contact details already on file.

    Each look-up is by one indexed column with the batch's values, so its cost does not grow with the table.
    """
    known: dict[tuple[str, Any], int] = {}
    for name in ("line_user_id", "email_main", "sms_phone"):
        found = select_map(connection, CHANNELS, name, (row.values.get(name) for row in rows), "customer_id")
        known.update({(name, value): match.customer_id for value, match in found.items()})
    visitors = select_map(
        connection, CUSTOMERS, "visitor_id", (row.values.get("visitor_id") for row in rows), "id"
    )
    known.update({("visitor_id", value): match.id for value, match in visitors.items()})
    if prospects_only and known:
        coded = select_map(connection, CUSTOMERS, "id", set(known.values()), "customer_code")
        known = {identity: id_ for identity, id_ in known.items() if coded[id_].customer_code is None}
    return known
