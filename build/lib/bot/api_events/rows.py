"""Turning a pushed event into the row its data file would carry, so the file imports' writer stores it.

`data` fields are the English column names of the event's data file (F1–F6) and go through that column's cell
parser; the `customer` block maps onto the identity, channel and person columns every file shares. What the
event itself says (a cancellation sets 来店キャンセルフラグ) is added, and a date left out is the day the
event occurred, in Japan.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.api_events.validation import FieldError
from bot.imports import values
from bot.imports.files import SPECS, Column
from bot.imports.reader import Row


@dataclass(frozen=True)
class Mapping:
    """How one event type lands: as a row of data file `kind`, with the values the event implies."""

    kind: str  # F5 (customer grain) for events about the customer as a whole
    implies: dict[str, Any] = field(default_factory=dict)  # row fields the event sets by itself
    dated: str | None = None  # the `data` field that defaults to when the event occurred


MAPPINGS: dict[str, Mapping] = {
    "document_requested": Mapping("F1", dated="requested_on"),
    "quote_made": Mapping("F2", dated="quoted_on"),
    "reservation_made": Mapping("F3", dated="reserved_on"),
    "reservation_cancelled": Mapping("F3", {"cancelled": True}, "cancelled_on"),
    "reservation_rescheduled": Mapping("F3", {"rebooked": True}, "rebooked_on"),
    "visit_recorded": Mapping("F3", {"visited": True}, "visited_on"),
    "contract_signed": Mapping("F5", {"contracted": True}),
    "contract_cancelled": Mapping("F5"),
    "contract_renewed": Mapping("F5", {"contracted": True}, "last_renewal_on"),
    "page_viewed": Mapping("F4", dated="viewed_at"),
    "benefit_granted": Mapping("F6", {"granted": True}, "granted_on"),
    "benefit_used": Mapping("F6", {"used": True}, "used_on"),
    "app_login": Mapping("F5", {"app_user": True}),
    "email_updated": Mapping("F5", {"email_acquired": True}),
    "phone_updated": Mapping("F5"),
    "opted_out": Mapping("F5"),
}
# `customer` fields named differently from the file columns they fill (the others share the column's name).
CUSTOMER_COLUMNS = {"email": "email_main", "phone": "sms_phone"}


def _moment(text: str) -> datetime:
    """An ISO 8601 date and time with an offset (the schema checked the shape), in UTC."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("no such date or time") from None
    if parsed.tzinfo is None:
        raise ValueError("a UTC offset is required")
    return parsed.astimezone(UTC)


# `data` fields that are no column of a data file: what the event changes once the customer is known.
EXTRA_FIELDS: dict[str, Callable[[str], Any]] = {
    "email": values.email,
    "phone": values.phone,
    "channel": str,
    "purpose": str,
}


@dataclass
class ApiEvent:
    """A checked event: its row for the writer, and what it changes beyond the row."""

    type: str
    path: str  # where it sits in the body ("" or "events[3]"), for error messages
    occurred_at: datetime
    row: Row
    extras: dict[str, Any] = field(default_factory=dict)


def _columns(kind: str) -> dict[str, Column]:
    return {column.alias: column for column in SPECS[kind].columns if column.field}


def to_events(located: list[tuple[str, dict[str, Any]]]) -> tuple[list[ApiEvent], list[FieldError]]:
    """The events of a schema-valid body as rows, or every value-level problem (bad phone, no such date)."""
    events, errors = [], []
    for line, (path, raw) in enumerate(located, start=1):
        event, problems = to_event(raw, path, line)
        events.append(event)
        errors += problems
    return ([] if errors else events), errors


def to_event(raw: dict[str, Any], path: str, line: int) -> tuple[ApiEvent, list[FieldError]]:
    """One schema-valid event as the row of its data file (`line` keys it within the request)."""
    errors: list[FieldError] = []
    mapping = MAPPINGS[raw["type"]]
    occurred_at = _parse(_moment, raw["occurred_at"], _at(path, "occurred_at"), errors)
    # Without a valid occurred_at the event is refused; the epoch stands in while other fields are checked.
    event = ApiEvent(raw["type"], path, occurred_at or datetime.fromtimestamp(0, UTC), Row(line, {}, []))
    customer_columns = _columns("F4")  # F4 carries every identity, channel and person column
    for name, value in raw["customer"].items():
        column = customer_columns[CUSTOMER_COLUMNS.get(name, name)]
        _put(event.row, column, value, _at(path, f"customer.{name}"), errors)
    data_columns = _columns(mapping.kind)
    for name, value in raw["data"].items():
        where = _at(path, f"data.{name}")
        if name in EXTRA_FIELDS:
            event.extras[name] = _parse(EXTRA_FIELDS[name], value, where, errors)
        else:
            _put(event.row, data_columns[name], value, where, errors)
    event.row.values.update(mapping.implies)
    if mapping.dated:
        _default_date(event, data_columns[mapping.dated])
    return event, errors


def _at(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _put(row: Row, column: Column, value: Any, where: str, errors: list[FieldError]) -> None:
    if not isinstance(value, str):  # true/false and whole numbers arrive typed (the schema checked them)
        row.values[column.field] = value
        return
    parse = _moment if column.parse is values.timestamp else column.parse
    parsed = _parse(parse, value, where, errors)
    if parsed is not None:
        row.values[column.field] = parsed


def _parse(parse: Callable[[str], Any], value: str, where: str, errors: list[FieldError]) -> Any:
    try:
        return parse(value)
    except ValueError as exc:
        errors.append(FieldError(where, _without_value(str(exc))))
        return None


def _without_value(message: str) -> str:
    # The cell parsers quote the cell ("not a date: '2024/02/30'"); the caller knows what they sent.
    return message.split(": '")[0].split(" (")[0] if ": '" in message else message


def _default_date(event: ApiEvent, column: Column) -> None:
    if column.field in event.row.values:
        return
    moment = event.occurred_at
    is_moment = column.parse is values.timestamp
    event.row.values[column.field] = moment if is_moment else moment.astimezone(values.TOKYO).date()
