"""Finding the customer a data-file row is about.

Rows with a 顧客ID are that customer (created on first sight). Rows without one (資料請求, 見積, 来店予約 come
from prospects) are matched by LINE ID, then main email, then SMS phone, then web visitor id; a person seen
for the first time becomes a new customer without a 顧客ID.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from bot.imports.reader import Row
from bot.imports.upsert import select_map, upsert
from models import Customer, CustomerChannels

PERSON_FIELDS = ("family_name", "given_name", "gender", "age_band", "prefecture", "visitor_id")
IDENTITIES = ("line_user_id", "email_main", "sms_phone", "visitor_id")
CUSTOMERS = Customer.__table__
CHANNELS = CustomerChannels.__table__


def resolve_customers(connection: Connection, rows: list[Row], now: datetime) -> dict[int, int]:
    """{row line: customer id} for every row that names or identifies a person; others get an error."""
    resolved: dict[int, int] = {}
    coded = [row for row in rows if row.values.get("customer_code")]
    if coded:
        upsert(
            connection,
            CUSTOMERS,
            (_person(row) | {"customer_code": row.values["customer_code"]} for row in coded),
            ["customer_code"],
            now,
        )
        ids = select_map(
            connection, CUSTOMERS, "customer_code", (row.values["customer_code"] for row in coded), "id"
        )
        resolved.update({row.line: ids[row.values["customer_code"]].id for row in coded})
    uncoded = [row for row in rows if not row.values.get("customer_code")]
    if uncoded:
        resolved.update(_match_by_contact(connection, uncoded, now))
    return resolved


def _person(row: Row) -> dict[str, Any]:
    return {name: row.values.get(name) for name in PERSON_FIELDS}


def _match_by_contact(connection: Connection, rows: list[Row], now: datetime) -> dict[int, int]:
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
    upsert(
        connection,
        CUSTOMERS,
        ({"id": resolved[row.line]} | _person(row) for row in rows if row.line in resolved),
        ["id"],
        now,
    )
    return resolved


def _known_identities(connection: Connection, rows: list[Row]) -> dict[tuple[str, Any], int]:
    known: dict[tuple[str, Any], int] = {}
    for name in ("line_user_id", "email_main", "sms_phone"):
        values = {row.values.get(name) for row in rows} - {None}
        if values:
            statement = select(CHANNELS.c[name], CHANNELS.c.customer_id).where(CHANNELS.c[name].in_(values))
            known.update({(name, value): customer_id for value, customer_id in connection.execute(statement)})
    visitors = {row.values.get("visitor_id") for row in rows} - {None}
    if visitors:
        statement = select(CUSTOMERS.c.visitor_id, CUSTOMERS.c.id).where(CUSTOMERS.c.visitor_id.in_(visitors))
        known.update(
            {("visitor_id", value): customer_id for value, customer_id in connection.execute(statement)}
        )
    return known
