"""Writing a batch of valid rows of one data file: reference data, customers, channels (with consent history)
and the file's own records.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from bot.delivery.consent import Evidence, consent_row
from bot.imports.customers import resolve_customers
from bot.imports.reader import Row
from bot.platform.bulk import insert_many, select_map, upsert
from bot.scenarios.triggers import mark_data_changed
from flows.dsl import Channel
from models import (
    Adviser,
    Campaign,
    CampaignBenefit,
    ConsentEvent,
    ContractSummary,
    CustomerActivity,
    CustomerChannels,
    Document,
    DocumentRequest,
    LineMembership,
    PageView,
    Product,
    ProductKind,
    ProductType,
    Quote,
    Reservation,
    Store,
)

CHANNEL_FIELDS = (
    "email_main",
    "email_sub",
    "email_permitted",
    "line_user_id",
    "line_permitted",
    "line_linked",
    "sms_phone",
    "sms_permitted",
    "fcm_token",
    "push_permitted",
)
PERMISSIONS = {
    "email_permitted": Channel.EMAIL,
    "line_permitted": Channel.LINE,
    "sms_permitted": Channel.SMS,
    "push_permitted": Channel.PUSH,
}
LIFE_WORDS = ("生命", "医療", "がん", "終身", "定期", "介護", "年金", "life")
NON_LIFE_WORDS = ("損害", "自動車", "火災", "地震", "傷害", "旅行", "ペット", "自転車", "バイク")


def product_kind(type_name: str | None) -> str | None:
    """Life or non-life from the product type's name (生命/医療/がん … vs 自動車/火災 …), None if unclear."""
    if not type_name:
        return None
    if any(word in type_name for word in NON_LIFE_WORDS):
        return ProductKind.NON_LIFE
    if any(word in type_name.lower() for word in LIFE_WORDS):
        return ProductKind.LIFE
    return None


def write_batch(
    connection: Connection, kind: str, rows: list[Row], now: datetime, source: str, evidence: Evidence
) -> list[Row]:
    """Write the rows; returns those refused here (e.g. a LINE ID that belongs to someone else). Each consent
    change keeps `evidence` (the file or request) with the line of the row that made it."""
    _write_reference_data(connection, rows)
    customer_ids = resolve_customers(connection, rows, now)
    refused = _refuse_taken_line_ids(connection, rows, customer_ids)
    good = [row for row in rows if row.line in customer_ids and not row.errors]
    _write_channels(connection, good, customer_ids, now, source, evidence)
    WRITERS[kind](connection, good, customer_ids, now)
    mark_data_changed(connection)  # the scenario triggers look again at today's entrants
    return refused + [row for row in rows if row.line not in customer_ids]


def _write_reference_data(connection: Connection, rows: list[Row]) -> None:
    def pairs(code: str, name: str) -> list[dict[str, Any]]:
        return [{"code": r.values[code], "name": r.values.get(name)} for r in rows if r.values.get(code)]

    types = (
        pairs("product_type_code", "product_type_name")
        + pairs("current_product_type_code", "current_product_type_name")
        + pairs("cancelled_product_type_code", "cancelled_product_type_name")
    )
    for entry in types:
        entry["kind"] = product_kind(entry["name"])
    upsert(connection, ProductType.__table__, types, ["code"], None)
    products = [
        {"code": r.values[code], "name": r.values.get(name), "product_type_code": r.values.get(type_code)}
        for code, name, type_code in (
            ("product_code", "product_name", "product_type_code"),
            ("current_product_code", "current_product_name", "current_product_type_code"),
            ("cancelled_product_code", "cancelled_product_name", "cancelled_product_type_code"),
        )
        for r in rows
        if r.values.get(code)
    ]
    upsert(connection, Product.__table__, products, ["code"], None)
    for table, code, name in (
        (Document, "document_code", "document_name"),
        (Store, "store_code", "store_name"),
        (Adviser, "staff_code", "staff_name"),
        (Campaign, "campaign_code", "campaign_name"),
    ):
        upsert(connection, table.__table__, pairs(code, name), ["code"], None)


def _refuse_taken_line_ids(
    connection: Connection, rows: list[Row], customer_ids: dict[int, int]
) -> list[Row]:
    """A LINE account belongs to one person: a row giving another customer's LINE ID is refused."""
    owners = {
        line_id: row.customer_id
        for line_id, row in select_map(
            connection,
            CustomerChannels.__table__,
            "line_user_id",
            (r.values.get("line_user_id") for r in rows),
            "customer_id",
        ).items()
    }
    refused = []
    for row in rows:
        line_id = row.values.get("line_user_id")
        if not line_id or row.line not in customer_ids:
            continue
        owner = owners.setdefault(line_id, customer_ids[row.line])
        if owner != customer_ids[row.line]:
            row.errors.append("LINE ID: already belongs to another customer")
            refused.append(row)
    return refused


def _write_channels(
    connection: Connection,
    rows: list[Row],
    ids: dict[int, int],
    now: datetime,
    source: str,
    evidence: Evidence,
) -> None:
    """The channels as the rows give them; a permission that changes is one consent event (an unchanged one,
    as on a re-import of the same file, none), with the line that changed it."""
    table = CustomerChannels.__table__
    before = select_map(connection, table, "customer_id", (ids[row.line] for row in rows), *PERMISSIONS)
    wanted = [{"customer_id": ids[row.line]} | {f: row.values.get(f) for f in CHANNEL_FIELDS} for row in rows]
    upsert(connection, table, wanted, ["customer_id"], now)
    events, seen = [], {}
    for row, entry in zip(rows, wanted, strict=True):
        customer_id = entry["customer_id"]
        for field, channel in PERMISSIONS.items():
            new = entry[field]
            previous = seen.get((customer_id, field), getattr(before.get(customer_id), field, None))
            if new is not None and new != previous:
                line = evidence.at_line(row.line)
                events.append(consent_row(customer_id, channel, new, now, source, line))
                seen[(customer_id, field)] = new
    insert_many(connection, ConsentEvent.__table__, events)


def _records(rows: list[Row], ids: dict[int, int], fields: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{"customer_id": ids[row.line]} | {f: row.values.get(f) for f in fields} for row in rows]


PRODUCT_FIELDS = ("product_type_code", "product_code", "contracted")


def _document_requests(connection: Connection, rows: list[Row], ids: dict[int, int], now: datetime) -> None:
    fields = ("request_code", "document_code", "requested_on", *PRODUCT_FIELDS)
    upsert(connection, DocumentRequest.__table__, _records(rows, ids, fields), ["request_code"], now)


def _quotes(connection: Connection, rows: list[Row], ids: dict[int, int], now: datetime) -> None:
    fields = ("quote_code", "quoted_on", *PRODUCT_FIELDS)
    upsert(connection, Quote.__table__, _records(rows, ids, fields), ["quote_code"], now)


def _reservations(connection: Connection, rows: list[Row], ids: dict[int, int], now: datetime) -> None:
    fields = (
        "reservation_code",
        "reserved_on",
        "visit_on",
        "visited",
        "visited_on",
        "cancelled",
        "cancelled_on",
        "rebooked",
        "rebooked_on",
        "store_code",
        "staff_code",
        "consultation",
        "consultation_trigger",
        *PRODUCT_FIELDS,
    )
    upsert(connection, Reservation.__table__, _records(rows, ids, fields), ["reservation_code"], now)


CURRENT = ("current_product_type_code", "current_product_code")


def _page_views(connection: Connection, rows: list[Row], ids: dict[int, int], now: datetime) -> None:
    fields = ("log_code", "visitor_id", "page_title", "page_url", "viewed_at")
    upsert(connection, PageView.__table__, _records(rows, ids, fields), ["log_code"], now)
    upsert(
        connection,
        ContractSummary.__table__,
        _records(rows, ids, ("contracted", *CURRENT)),
        ["customer_id"],
        now,
    )


def _customers(connection: Connection, rows: list[Row], ids: dict[int, int], now: datetime) -> None:
    activity = (
        "document_requested",
        "first_document_request_on",
        "quoted",
        "first_quote_on",
        "visited",
        "first_visit_on",
        "email_acquired",
        "line_friend",
        "app_user",
    )
    upsert(connection, CustomerActivity.__table__, _records(rows, ids, activity), ["customer_id"], now)
    contract = (
        "contracted",
        "status",
        "life",
        "non_life",
        "first_start_on",
        "end_on",
        "next_renewal_on",
        "last_renewal_on",
        "renewal_count",
        "total_paid",
        *CURRENT,
        "cancelled_product_type_code",
        "cancelled_product_code",
    )
    upsert(connection, ContractSummary.__table__, _records(rows, ids, contract), ["customer_id"], now)


def _campaign_benefits(connection: Connection, rows: list[Row], ids: dict[int, int], now: datetime) -> None:
    fields = ("campaign_code", "granted", "granted_on", "used", "used_on")
    upsert(
        connection,
        CampaignBenefit.__table__,
        _records(rows, ids, fields),
        ["customer_id", "campaign_code"],
        now,
    )


def _line_members(connection: Connection, rows: list[Row], ids: dict[int, int], now: datetime) -> None:
    records = [
        {
            "line_user_id": r.values["line_user_id"],
            "customer_id": ids[r.line],
            "registered_on": r.values.get("registered_on"),
            "linked": r.values.get("line_linked"),
        }
        for r in rows
    ]
    upsert(connection, LineMembership.__table__, records, ["line_user_id"], now)


WRITERS: dict[str, Callable[[Connection, list[Row], dict[int, int], datetime], None]] = {
    "F1": _document_requests,
    "F2": _quotes,
    "F3": _reservations,
    "F4": _page_views,
    "F5": _customers,
    "F6": _campaign_benefits,
    "F7": _line_members,
}
