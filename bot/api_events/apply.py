"""Writing pushed events with the file imports' writer, one after another, inside the caller's transaction.

Each event is its data file's row, so customers are found or created, reference data (products, stores,
campaigns …) recorded and consent history kept exactly as for an import. Events about the customer as a
whole then change what no file column covers: the app login time, a new email or phone, an opt-out.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Connection, or_, update

from bot.api_events.rows import MAPPINGS, ApiEvent
from bot.api_events.validation import FieldError
from bot.delivery.consent import Evidence, consent_row
from bot.imports.customers import resolve_customers
from bot.imports.writer import PERMISSIONS, write_batch
from bot.platform.bulk import select_map, upsert
from bot.platform.config import Settings
from bot.scenarios.journeys import start_journeys
from flows.dsl import Anchor, Event, Purpose
from models import ConsentEvent, CustomerActivity, CustomerChannels

SOURCE = "api"
# The column a refusal of the writer names ("LINE ID: already belongs to another customer") → the API field.
_REFUSAL_FIELDS = {"LINE ID": "customer.line_user_id"}


class EventsRefused(Exception):
    """An event cannot be written (e.g. it gives another customer's LINE ID): the request must roll back."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(f"{len(errors)} refused")
        self.errors = errors


def apply_events(
    connection: Connection,
    events: list[ApiEvent],
    now: datetime,
    evidence: Evidence,
    settings: Settings | None = None,
) -> None:
    """Write the events in order; raises EventsRefused listing every refusal (the caller rolls back). Consent
    changes keep `evidence` (the request) with the event's position in it. With the service's `settings`, an
    event that starts journeys (an email registered, a booking made) enrols the customer in them, in the same
    transaction: a request retried with its Idempotency-Key is answered from memory, one sent again without it
    finds the enrollments there already."""
    errors: list[FieldError] = []
    for event in events:
        refused = write_batch(connection, MAPPINGS[event.type].kind, [event.row], now, SOURCE, evidence)
        if refused:
            errors += [_refusal(event, reason) for row in refused for reason in row.errors]
            continue
        follow_up = FOLLOW_UPS.get(event.type)
        starts = STARTS.get(event.type) if settings is not None else None
        if follow_up or starts:
            # The row is written, so resolving it again finds the same customer (by 顧客ID or contact).
            customer_id = resolve_customers(connection, [event.row], now)[event.row.line]
        if follow_up:
            follow_up(connection, customer_id, event, now, evidence.at_line(event.row.line))
        if starts and settings is not None:
            start_journeys(connection, settings, starts, customer_id, now, _records(event))
    if errors:
        raise EventsRefused(errors)


def _records(event: ApiEvent) -> dict[Anchor, str]:
    """The event's own record, for journeys anchored on it (a booking: its 来店予約ID)."""
    code = event.row.values.get("reservation_code")
    return {Anchor.RESERVATION: str(code)} if event.type == "reservation_made" and code else {}


def _refusal(event: ApiEvent, reason: str) -> FieldError:
    column, _, message = reason.partition(": ")
    field = _REFUSAL_FIELDS.get(column, "customer") if message else "customer"
    return FieldError(f"{event.path}.{field}" if event.path else field, message or reason)


def record_app_login(
    connection: Connection, customer_id: int, event: ApiEvent, now: datetime, _: Evidence
) -> None:
    """スマホアプリ: keep the latest login (a late, older event does not move it back)."""
    activity = CustomerActivity.__table__
    last = activity.c.app_last_login_at
    connection.execute(
        update(activity)
        .where(activity.c.customer_id == customer_id, or_(last.is_(None), last < event.occurred_at))
        .values(app_last_login_at=event.occurred_at, updated_at=now)
    )


def change_email(
    connection: Connection, customer_id: int, event: ApiEvent, now: datetime, _: Evidence
) -> None:
    _set_channels(connection, customer_id, {"email_main": event.extras["email"]}, now)


def change_phone(
    connection: Connection, customer_id: int, event: ApiEvent, now: datetime, _: Evidence
) -> None:
    _set_channels(connection, customer_id, {"sms_phone": event.extras["phone"]}, now)


def opt_out(
    connection: Connection, customer_id: int, event: ApiEvent, now: datetime, evidence: Evidence
) -> None:
    """配信停止: the permission(s) become false; each change is one consent event, dated when it occurred."""
    wanted = event.extras["channel"]
    fields = [name for name, channel in PERMISSIONS.items() if wanted in ("all", channel)]
    channels = CustomerChannels.__table__
    before = select_map(connection, channels, "customer_id", [customer_id], *fields)[customer_id]
    changed = [name for name in fields if getattr(before, name) is not False]
    if not changed:
        return  # already opted out: nothing changes, so no history either (a retry is harmless)
    _set_channels(connection, customer_id, dict.fromkeys(changed, False), now)
    purpose = event.extras.get("purpose") or Purpose.MARKETING
    history = [
        consent_row(customer_id, PERMISSIONS[name], False, event.occurred_at, SOURCE, evidence, purpose)
        for name in changed
    ]
    connection.execute(ConsentEvent.__table__.insert(), history)


def _set_channels(connection: Connection, customer_id: int, values: dict[str, object], now: datetime) -> None:
    row = {"customer_id": customer_id, **values}
    upsert(connection, CustomerChannels.__table__, [row], ["customer_id"], now)


# Events that start journeys (scenarios with an OnEvent trigger): the customer enters as of the request, when
# the service learns of it (an event that occurred long before would otherwise start a flow half-way through).
STARTS: dict[str, Event] = {
    "email_updated": Event.EMAIL_REGISTERED,
    "reservation_made": Event.BOOKING_MADE,
}

FOLLOW_UPS: dict[str, Callable[[Connection, int, ApiEvent, datetime, Evidence], None]] = {
    "app_login": record_app_login,
    "email_updated": change_email,
    "phone_updated": change_phone,
    "opted_out": opt_out,
}
