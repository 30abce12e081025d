"""What erasure does to one table's rows of a customer: delete them, clear the columns that hold personal data, or
keep them (no personal data: what the dashboard counts). Each action takes the rows `where` selects and returns
how many it changed; `holdings` says which action each table gets.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    String,
    Table,
    cast,
    delete,
    literal,
    null,
    select,
    update,
)

from bot.privacy.redaction import skeleton
from bot.privacy.subject import Subject
from flows.dsl import Outcome
from models import (
    UNSETTLED,
    ConsentEvent,
    DeliveryStatus,
    EnrollmentStatus,
    EventStatus,
    FriendStatus,
    NoticeStatus,
    PrivacyStatus,
    RequestStatus,
)

Erase = Callable[[Connection, Table, ColumnElement[bool], Subject, datetime], int]
ERASED = "erased"  # the reason a message that was still waiting was not sent
CONSENT = ConsentEvent.__table__
CHUNK = 500  # rows rewritten one by one (webhook payloads) per statement batch


def delete_rows(connection: Connection, table: Table, where: ColumnElement[bool], *_: object) -> int:
    return connection.execute(delete(table).where(where)).rowcount


def keep_rows(*_: object) -> int:
    """Rows without personal data, kept for the dashboard's counts (what they say is no longer anyone's)."""
    return 0


def clear(*columns: str, **values: Any) -> Erase:
    """Set `columns` to NULL (and other columns to `values`) in the customer's rows."""

    def erase(connection: Connection, table: Table, where: ColumnElement[bool], *_: object) -> int:
        cleared = {table.c[name]: null() for name in columns}  # SQL NULL, not JSON's null
        return connection.execute(update(table).where(where).values({**cleared, **values})).rowcount

    return erase


def tombstone(
    connection: Connection, table: Table, where: ColumnElement[bool], who: Subject, now: datetime
) -> int:
    """The customer row stays (foreign keys, counts) without anything that says who it was."""
    personal = (
        "customer_code",
        "visitor_id",
        "family_name",
        "given_name",
        "gender",
        "age_band",
        "prefecture",
        "language",
    )
    return clear(*personal, erased_at=now, updated_at=now)(connection, table, where, who, now)


ADDRESSED = {"email": ("email_main", "email_permitted"), "sms": ("sms_phone", "sms_permitted")}


def unaddress(
    connection: Connection, table: Table, where: ColumnElement[bool], who: Subject, now: datetime
) -> int:
    """Addresses, LINE user id and device token go; the permission flags stay as they were, for the dashboard's
    reach up to the erasure. The dashboard counts a permission (and its consent history) only with an address on
    file (bot/staff/dashboard.py): where there was none, flag and history go too, so a tombstone counts as before."""
    row = connection.execute(select(table).where(where)).first()
    if row is None:
        return 0
    for channel, (address, flag) in ADDRESSED.items():
        if row._mapping[address] is None:
            connection.execute(update(table).where(where).values({flag: None}))
            connection.execute(
                delete(CONSENT).where(CONSENT.c.customer_id == who.customer_id, CONSENT.c.channel == channel)
            )
    return clear("email_main", "email_sub", "line_user_id", "sms_phone", "fcm_token")(
        connection, table, where, who, now
    )


def close_requests(
    connection: Connection, table: Table, where: ColumnElement[bool], _: Subject, now: datetime
) -> int:
    """Service-desk requests lose what was collected (addresses, names, free text); open ones are closed."""
    connection.execute(
        update(table)
        .where(where, table.c.status != RequestStatus.CLOSED)
        .values(status=RequestStatus.CLOSED, closed_at=now, updated_at=now)
    )
    return connection.execute(update(table).where(where).values(details=null())).rowcount


def stop_enrollments(
    connection: Connection, table: Table, where: ColumnElement[bool], _: Subject, now: datetime
) -> int:
    """Scenarios stop for them (cancelled); the anchor key (the insurer's 資料請求ID, 来店予約ID …) is replaced by the
    enrollment's own id, so the funnel still counts the entry and its outcome."""
    connection.execute(
        update(table)
        .where(where, table.c.status == EnrollmentStatus.ACTIVE)
        .values(status=EnrollmentStatus.DONE, outcome=Outcome.CANCELLED, wake_at=None, updated_at=now)
    )
    anonymous = literal("erased:").concat(cast(table.c.id, String))
    return connection.execute(update(table).where(where).values(anchor_key=anonymous)).rowcount


def strip_deliveries(
    connection: Connection, table: Table, where: ColumnElement[bool], _: Subject, now: datetime
) -> int:
    """Ledger rows keep channel, status, times, segments and cost; they lose their merge values, LINE's reply
    token and the provider's message id (a provider can tell the number from it). Waiting ones fail, unsent."""
    connection.execute(
        update(table)
        .where(where, table.c.status.in_(UNSETTLED))
        .values(status=DeliveryStatus.FAILED, error=ERASED, claimed_until=None, updated_at=now)
    )
    return connection.execute(
        update(table).where(where).values(fields=null(), reply_token=None, provider_id=None)
    ).rowcount


def strip_notices(
    connection: Connection, table: Table, where: ColumnElement[bool], who: Subject, now: datetime
) -> int:
    """Staff notices about them (and admin answers naming them) lose their fields; one not sent yet is not sent."""
    connection.execute(
        update(table)
        .where(where, table.c.status == NoticeStatus.QUEUED)
        .values(status=NoticeStatus.FAILED, error=ERASED)
    )
    return connection.execute(update(table).where(where).values(fields=null(), reply_token=None)).rowcount


def forget_line_user(
    connection: Connection, table: Table, where: ColumnElement[bool], _: Subject, now: datetime
) -> int:
    """The LINE user's row stays for the friend count, under a made-up id; from now on the service cannot reach
    them, so a friend counts until today (as after a block)."""
    rows = list(connection.execute(select(table.c.id, table.c.friend_status).where(where)))
    for row in rows:
        gone = {"friend_status": FriendStatus.BLOCKED, "blocked_at": now, "status_changed_at": now}
        connection.execute(
            update(table)
            .where(table.c.id == row.id)
            .values(
                line_user_id=f"{ERASED}-{secrets.token_hex(12)}",
                updated_at=now,
                **(gone if row.friend_status == FriendStatus.FOLLOWING else {}),
            )
        )
    return len(rows)


def redact_events(
    connection: Connection, table: Table, where: ColumnElement[bool], _: Subject, now: datetime
) -> int:
    """Their webhook events keep what happened and when; the payload loses who and what they wrote. One not
    processed yet never will be."""
    connection.execute(
        update(table)
        .where(where, table.c.status == EventStatus.RECEIVED)
        .values(status=EventStatus.PROCESSED, processed_at=now, last_error=ERASED)
    )
    changed = 0
    while rows := list(connection.execute(select(table.c.id, table.c.payload).where(where).limit(CHUNK))):
        for row in rows:
            connection.execute(
                update(table)
                .where(table.c.id == row.id)
                .values(payload=skeleton(row.payload), line_user_id=None, redacted_at=now)
            )
        changed += len(rows)
    return changed


def expire_requests(
    connection: Connection, table: Table, where: ColumnElement[bool], _: Subject, now: datetime
) -> int:
    """Disclosure and erasure requests stay (no personal data); a pending one or an unused download code lapses."""
    return connection.execute(
        update(table)
        .where(where, table.c.status.in_((PrivacyStatus.PENDING, PrivacyStatus.APPROVED)))
        .values(status=PrivacyStatus.EXPIRED, code_hash=None, decided_at=now)
    ).rowcount
