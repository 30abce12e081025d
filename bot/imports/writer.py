"""Writing a batch of valid rows of one data file: the catalogue it names, customers, channels (with consent
history) and the file's own records.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, case, or_, update

from bot.customers.contracts import mark_contracted
from bot.customers.derived import contradicted
from bot.delivery.consent import Evidence, consent_row
from bot.imports.catalog import write_catalog
from bot.imports.customers import resolve_customers
from bot.imports.fields import ACTIVITY_FIELDS, CHANNEL_FIELDS, CONTRACT_FIELDS, CURRENT
from bot.imports.files import SPECS
from bot.imports.reader import Row
from bot.imports.tally import Tally, upsert_counted
from bot.platform.bulk import among, chunks, insert_many, select_map, upsert_reporting
from bot.scenarios.triggers import mark_data_changed
from flows.dsl import Channel
from models import (
    CampaignBenefit,
    ConsentEvent,
    ContractSummary,
    CustomerActivity,
    CustomerChannels,
    DocumentRequest,
    LineMembership,
    PageView,
    Quote,
    Reservation,
)

TAKEN_LINE_ID = "LINE ID: already belongs to another customer"
PERMISSIONS = {
    "email_permitted": Channel.EMAIL,
    "line_permitted": Channel.LINE,
    "sms_permitted": Channel.SMS,
    "push_permitted": Channel.PUSH,
}


def write_batch(
    connection: Connection,
    kind: str,
    rows: list[Row],
    now: datetime,
    source: str,
    evidence: Evidence,
    tally: Tally | None = None,
) -> list[Row]:
    """Write the rows; returns those refused here (e.g. a LINE ID that belongs to someone else). Each consent
    change keeps `evidence` (the file or request) with the line of the row that made it; `tally` counts what
    changed in each table."""
    write_catalog(connection, [row.values for row in rows], tally)
    customer_ids = resolve_customers(connection, rows, now, tally)
    refused = _refuse_taken_line_ids(connection, rows, customer_ids)
    good = [row for row in rows if row.line in customer_ids and not row.errors]
    _write_channels(connection, good, customer_ids, now, source, evidence, tally)
    WRITERS[kind](connection, good, customer_ids, now, tally)
    write_after(connection, kind, {customer_ids[row.line] for row in good}, now, tally)
    return refused + [row for row in rows if row.line not in customer_ids]


def write_after(
    connection: Connection,
    kind: str,
    written: Collection[int],
    now: datetime,
    tally: Tally | None,
    with_records: Collection[int] | None = None,
    contradicted_without: dict[str, int] | None = None,
) -> None:
    """What follows writing a batch of the customers `written`: the open records their contracts close (of
    `with_records`, the customers that may have records, when the caller knows), the F5 flags their records
    contradict (counted; the caller counted those of the customers without records in `contradicted_without`),
    and the scenario triggers told to look again."""
    closing = written if with_records is None else with_records
    for table, marked in mark_contracted(connection, closing, now).items():
        if tally:
            tally.note(table, updated=marked)
    if kind == "F5" and tally:
        headers = {c.field: c.ja for c in SPECS["F5"].columns if c.field}
        for counts in (contradicted(connection, closing), contradicted_without or {}):
            tally.contradict({headers[fact.partition(".")[2]]: n for fact, n in counts.items()})
    mark_data_changed(connection)  # the scenario triggers look again at today's entrants


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
            row.errors.append(TAKEN_LINE_ID)
            refused.append(row)
    return refused


def _write_channels(
    connection: Connection,
    rows: list[Row],
    ids: dict[int, int],
    now: datetime,
    source: str,
    evidence: Evidence,
    tally: Tally | None,
) -> None:
    """The channels as the rows give them; a permission that changes is one consent event (an unchanged one,
    as on a re-import of the same file, none), with the line that changed it."""
    table = CustomerChannels.__table__
    wanted = [{"customer_id": ids[row.line]} | {f: row.values.get(f) for f in CHANNEL_FIELDS} for row in rows]
    done = upsert_reporting(connection, table, wanted, ["customer_id"], now, remember=tuple(PERMISSIONS))
    events, seen = [], {}
    for row, entry in zip(rows, wanted, strict=True):
        customer_id = entry["customer_id"]
        for field, channel in PERMISSIONS.items():
            new = entry[field]
            previous = seen.get((customer_id, field), getattr(done.before.get((customer_id,)), field, None))
            if new is not None and new != previous:
                line = evidence.at_line(row.line)
                events.append(consent_row(customer_id, channel, new, now, source, line))
                seen[(customer_id, field)] = new
    insert_many(connection, ConsentEvent.__table__, events)
    date_links(connection, [entry["customer_id"] for entry in wanted], now)
    if tally:
        tally.record(table.name, done)
        tally.added(ConsentEvent.__tablename__, len(events))


def date_links(connection: Connection, customer_ids: list[int], now: datetime) -> None:
    """A link (ID連携) a file reports dates from the import that brought it (the dashboard's reach counts from
    it); a link the file withdraws loses its date."""
    table = CustomerChannels.__table__
    linked = table.c.line_linked.is_(True)
    for chunk in chunks(connection, sorted(set(customer_ids))):
        connection.execute(
            update(table)
            .where(
                among(connection, table.c.customer_id, chunk),
                or_(
                    and_(linked, table.c.line_linked_at.is_(None)),
                    and_(~linked, table.c.line_linked_at.is_not(None)),
                ),
            )
            .values(line_linked_at=case((linked, now), else_=None))
        )


def _records(rows: list[Row], ids: dict[int, int], fields: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{"customer_id": ids[row.line]} | {f: row.values.get(f) for f in fields} for row in rows]


PRODUCT_FIELDS = ("product_type_code", "product_code", "contracted")


def _document_requests(
    connection: Connection, rows: list[Row], ids: dict[int, int], now: datetime, tally: Tally | None
) -> None:
    fields = ("request_code", "document_code", "requested_on", *PRODUCT_FIELDS)
    records = _records(rows, ids, fields)
    upsert_counted(connection, tally, DocumentRequest.__table__, records, ["request_code"], now, "id")


def _quotes(
    connection: Connection, rows: list[Row], ids: dict[int, int], now: datetime, tally: Tally | None
) -> None:
    fields = ("quote_code", "quoted_on", *PRODUCT_FIELDS)
    upsert_counted(connection, tally, Quote.__table__, _records(rows, ids, fields), ["quote_code"], now, "id")


def _reservations(
    connection: Connection, rows: list[Row], ids: dict[int, int], now: datetime, tally: Tally | None
) -> None:
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
    records = _records(rows, ids, fields)
    upsert_counted(connection, tally, Reservation.__table__, records, ["reservation_code"], now, "id")


def _page_views(
    connection: Connection, rows: list[Row], ids: dict[int, int], now: datetime, tally: Tally | None
) -> None:
    fields = ("log_code", "visitor_id", "page_title", "page_url", "viewed_at")
    upsert_counted(
        connection, tally, PageView.__table__, _records(rows, ids, fields), ["log_code"], now, "id"
    )
    upsert_counted(
        connection,
        tally,
        ContractSummary.__table__,
        _records(rows, ids, ("contracted", *CURRENT)),
        ["customer_id"],
        now,
    )


def _customers(
    connection: Connection, rows: list[Row], ids: dict[int, int], now: datetime, tally: Tally | None
) -> None:
    records = _records(rows, ids, ACTIVITY_FIELDS)
    upsert_counted(connection, tally, CustomerActivity.__table__, records, ["customer_id"], now)
    records = _records(rows, ids, CONTRACT_FIELDS)
    upsert_counted(connection, tally, ContractSummary.__table__, records, ["customer_id"], now)


def _campaign_benefits(
    connection: Connection, rows: list[Row], ids: dict[int, int], now: datetime, tally: Tally | None
) -> None:
    fields = ("campaign_code", "granted", "granted_on", "used", "used_on")
    records = _records(rows, ids, fields)
    keys = ["customer_id", "campaign_code"]
    upsert_counted(connection, tally, CampaignBenefit.__table__, records, keys, now, "id")


def _line_members(
    connection: Connection, rows: list[Row], ids: dict[int, int], now: datetime, tally: Tally | None
) -> None:
    records = [
        {
            "line_user_id": r.values["line_user_id"],
            "customer_id": ids[r.line],
            "registered_on": r.values.get("registered_on"),
            "linked": r.values.get("line_linked"),
        }
        for r in rows
    ]
    upsert_counted(connection, tally, LineMembership.__table__, records, ["line_user_id"], now)


WRITERS: dict[str, Callable[[Connection, list[Row], dict[int, int], datetime, Tally | None], None]] = {
    "F1": _document_requests,
    "F2": _quotes,
    "F3": _reservations,
    "F4": _page_views,
    "F5": _customers,
    "F6": _campaign_benefits,
    "F7": _line_members,
}
