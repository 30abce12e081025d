"""Disclosure and erasure requested in the admin chat: a staff member asks, an approver other than them approves
(four eyes, as for a large broadcast), and only then does anything run. An approved disclosure is collected on
the download page with a one-time code; an approved erasure runs at once.

The code is the only thing that opens a disclosure, so it is treated like a password: twelve characters of a
32-letter alphabet (60 bits), stored as SHA-256, valid DOWNLOAD_WINDOW, used once, and after MAX_CODE_TRIES wrong
tries the request is closed (the count is taken before the comparison, so concurrent tries cannot exceed it).
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, insert, select, update

from bot.staff.admin import Role, StaffMember
from models import PrivacyKind, PrivacyRequest, PrivacyStatus

REQUESTS = PrivacyRequest.__table__
APPROVAL_WINDOW = timedelta(hours=24)  # a request nobody approved by then lapses
DOWNLOAD_WINDOW = timedelta(minutes=30)  # an approved disclosure's code works this long, once
MAX_CODE_TRIES = 5
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read off a phone and typed
CODE_LENGTH = 12


class Outcome(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    NOT_FOUND = "not_found"
    NOT_PENDING = "not_pending"  # decided already (a second tap)
    EXPIRED = "expired"
    NEEDS_ANOTHER = "needs_another"  # the requester cannot approve their own request
    NEEDS_APPROVER = "needs_approver"
    NOT_YOURS = "not_yours"  # only the requester or an approver may reject


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    request: Any | None = None  # the row as it was before the decision
    code: str | None = None  # an approved disclosure's one-time code (shown once, never stored)


def open_request(
    connection: Connection, kind: PrivacyKind, customer_id: int, staff: StaffMember, now: datetime
) -> int:
    row = {
        "kind": str(kind),
        "customer_id": customer_id,
        "requested_by": staff.actor,
        "requested_in": staff.reply_to,
        "status": PrivacyStatus.PENDING,
        "created_at": now,
        "expires_at": now + APPROVAL_WINDOW,
        "code_tries": 0,
    }
    return connection.execute(insert(REQUESTS).values(row).returning(REQUESTS.c.id)).scalar_one()


def find_request(connection: Connection, value: str) -> Any | None:
    if not (value.isascii() and value.isdigit()) or len(value) > 9:
        return None
    return connection.execute(select(REQUESTS).where(REQUESTS.c.id == int(value))).first()


def decide(connection: Connection, value: str, staff: StaffMember, approve: bool, now: datetime) -> Decision:
    """Approve (an approver other than the requester) or reject (the requester withdraws, or an approver) a
    pending request; of two taps at once, one decides."""
    row = find_request(connection, value)
    if row is None:
        return Decision(Outcome.NOT_FOUND)
    if row.status != PrivacyStatus.PENDING:
        return Decision(Outcome.NOT_PENDING, row)
    if row.expires_at <= now:
        _move(connection, row.id, PrivacyStatus.EXPIRED, now)
        return Decision(Outcome.EXPIRED, row)
    if approve and staff.actor == row.requested_by:
        return Decision(Outcome.NEEDS_ANOTHER, row)
    if approve and not staff.may(Role.APPROVER):
        return Decision(Outcome.NEEDS_APPROVER, row)
    if not approve and staff.actor != row.requested_by and not staff.may(Role.APPROVER):
        return Decision(Outcome.NOT_YOURS, row)
    if not approve:
        moved = _move(connection, row.id, PrivacyStatus.REJECTED, now, decided_by=staff.actor)
        return Decision(Outcome.REJECTED if moved else Outcome.NOT_PENDING, row)
    code = new_code() if row.kind == PrivacyKind.EXPORT else None
    values: dict[str, Any] = {"decided_by": staff.actor}
    if code:
        values |= {"code_hash": digest(code), "code_expires_at": now + DOWNLOAD_WINDOW}
    status = PrivacyStatus.APPROVED if code else PrivacyStatus.DONE
    if not _move(connection, row.id, status, now, **values):
        return Decision(Outcome.NOT_PENDING, row)
    return Decision(Outcome.APPROVED, row, code)


def _move(
    connection: Connection, request_id: int, status: PrivacyStatus, now: datetime, **values: Any
) -> bool:
    """Pending → `status`, only from pending."""
    return (
        connection.execute(
            update(REQUESTS)
            .where(REQUESTS.c.id == request_id, REQUESTS.c.status == PrivacyStatus.PENDING)
            .values(status=status, decided_at=now, **values)
        ).rowcount
        == 1
    )


# ── the one-time download code ───────────────────────────────────────────────────────────────────────────


class Redeemed(StrEnum):
    OK = "ok"
    WRONG = "wrong"
    LOCKED = "locked"  # too many wrong tries: the request is closed
    GONE = "gone"  # no approved disclosure here (unknown, used, expired, rejected)


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def display_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def normalise_code(typed: str) -> str:
    """What a person types (full-width, lower case, dashes, spaces) as the code."""
    return "".join(c for c in unicodedata.normalize("NFKC", typed).upper() if c.isalnum())[:64]


def redeem_code(
    connection: Connection, request_id: int, typed: str, now: datetime
) -> tuple[Redeemed, Any | None]:
    """Spend one try on the code of an approved disclosure; with the right one, the request is done (used)."""
    counted = connection.execute(
        update(REQUESTS)
        .where(
            REQUESTS.c.id == request_id,
            REQUESTS.c.kind == PrivacyKind.EXPORT,
            REQUESTS.c.status == PrivacyStatus.APPROVED,
        )
        .values(code_tries=REQUESTS.c.code_tries + 1)
        .returning(REQUESTS.c.code_tries, REQUESTS.c.code_hash, REQUESTS.c.code_expires_at)
    ).first()
    if counted is None:
        return Redeemed.GONE, None
    if counted.code_expires_at is None or counted.code_expires_at <= now:
        _close(connection, request_id, PrivacyStatus.EXPIRED, now)
        return Redeemed.GONE, None
    if counted.code_tries > MAX_CODE_TRIES:
        _close(connection, request_id, PrivacyStatus.EXPIRED, now)
        return Redeemed.LOCKED, None
    if not secrets.compare_digest(digest(normalise_code(typed)), counted.code_hash or ""):
        return Redeemed.WRONG, None
    if not _close(connection, request_id, PrivacyStatus.DONE, now, downloaded_at=now):
        return Redeemed.GONE, None
    row = connection.execute(select(REQUESTS).where(REQUESTS.c.id == request_id)).one()
    return Redeemed.OK, row


def _close(
    connection: Connection, request_id: int, status: PrivacyStatus, now: datetime, **values: Any
) -> bool:
    """Approved → `status`; the code is forgotten."""
    return (
        connection.execute(
            update(REQUESTS)
            .where(REQUESTS.c.id == request_id, REQUESTS.c.status == PrivacyStatus.APPROVED)
            .values(status=status, code_hash=None, **values)
        ).rowcount
        == 1
    )
