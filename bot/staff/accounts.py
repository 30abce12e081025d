"""The staff's own logins to the inbox (/inbox): accounts with hashed passwords (werkzeug.security) and a role,
and the check of a login under the same limits on wrong tries as the dashboard's token (bot/platform/
login_limits.py): per client address, per login name and across all, so guessing stays hopeless.

A session names the account and a fingerprint of its password hash: changing the password or disabling the
account ends every session of it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis import Redis
from sqlalchemy import Connection, insert, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from bot.platform import login_limits
from models import StaffAccount, StaffRole

ACCOUNTS = StaffAccount.__table__
LOGIN_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 12
MAX_FAILURES_CLIENT, MAX_FAILURES_LOGIN, MAX_FAILURES_ALL = 10, 10, 100
FAILURE_SECONDS = 900
# a wrong login name costs the same hashing as a wrong password: timing does not tell which names exist
_DUMMY_HASH = generate_password_hash("not a password of anybody's")


class AccountRefused(ValueError):
    """The account cannot be created as asked; the message says why, in words."""


@dataclass(frozen=True)
class Staff:
    """A staff member signed in to the inbox."""

    id: int
    login: str
    name: str
    role: StaffRole
    fingerprint: str  # of the password hash: a session names it

    @property
    def actor(self) -> str:
        """How the audit and the hand-overs name them."""
        return f"inbox:{self.login}"

    def may_close(self) -> bool:
        return self.role is StaffRole.SUPERVISOR

    def may_export(self) -> bool:
        """Download a data export (many customers' records at once)."""
        return self.role is StaffRole.SUPERVISOR


def add_account(
    connection: Connection, login: str, password: str, role: str, name: str, now: datetime
) -> int:
    """A new account (AccountRefused for a taken or malformed name, a short password or an unknown role)."""
    login = login.strip().lower()
    if not LOGIN_NAME.match(login):
        raise AccountRefused("the login name is 2–64 lower-case letters, digits, '.', '_' or '-'")
    if len(password) < MIN_PASSWORD:
        raise AccountRefused(f"the password needs at least {MIN_PASSWORD} characters")
    if role not in set(StaffRole):
        raise AccountRefused(f"the role is one of {', '.join(StaffRole)}")
    if connection.execute(select(ACCOUNTS.c.id).where(ACCOUNTS.c.login == login)).first():
        raise AccountRefused(f"the login name {login} is taken")
    row = {
        "login": login,
        "display_name": name.strip()[:64] or login,
        "password_hash": generate_password_hash(password),
        "role": role,
        "created_at": now,
    }
    return connection.execute(insert(ACCOUNTS).values(row).returning(ACCOUNTS.c.id)).scalar_one()


def disable_account(connection: Connection, login: str, now: datetime) -> bool:
    return bool(
        connection.execute(
            update(ACCOUNTS)
            .where(ACCOUNTS.c.login == login.strip().lower(), ACCOUNTS.c.disabled_at.is_(None))
            .values(disabled_at=now)
        ).rowcount
    )


def staff_of(row: Any) -> Staff:
    fingerprint = hashlib.sha256(row.password_hash.encode()).hexdigest()[:16]
    return Staff(row.id, row.login, row.display_name, StaffRole(row.role), fingerprint)


def find_staff(connection: Connection, account_id: int, fingerprint: str) -> Staff | None:
    """The signed-in staff member a session names, if the account is still enabled with that password."""
    row = connection.execute(
        select(ACCOUNTS).where(ACCOUNTS.c.id == account_id, ACCOUNTS.c.disabled_at.is_(None))
    ).first()
    staff = staff_of(row) if row else None
    return staff if staff and staff.fingerprint == fingerprint else None


@dataclass(frozen=True)
class LoginVerdict:
    staff: Staff | None
    retry_after: int = 0  # seconds, when locked

    @property
    def locked(self) -> bool:
        return self.retry_after > 0


def log_in(
    connection: Connection, redis: Redis, secret: str, login: str, password: str, address: str
) -> LoginVerdict:
    """Count the try first (per client, per login name, across all), then check the password if the limits allow
    it. Raises RedisError when the counts cannot be kept (the caller refuses then)."""
    name = login.strip().lower()[:64]
    limits = (
        login_limits.Limit(
            f"inbox:fails:client:{login_limits.subject_key(secret, address)}", MAX_FAILURES_CLIENT
        ),
        login_limits.Limit(f"inbox:fails:login:{login_limits.subject_key(secret, name)}", MAX_FAILURES_LOGIN),
        login_limits.Limit("inbox:fails:all", MAX_FAILURES_ALL),
    )
    attempt = login_limits.take(redis, limits, FAILURE_SECONDS)
    if not attempt.allowed:
        return LoginVerdict(None, max(attempt.retry_after, 1))
    row = connection.execute(
        select(ACCOUNTS).where(ACCOUNTS.c.login == name, ACCOUNTS.c.disabled_at.is_(None))
    ).first()
    if not check_password_hash(row.password_hash if row else _DUMMY_HASH, password) or row is None:
        return LoginVerdict(None)
    login_limits.give_back(redis, attempt)
    return LoginVerdict(staff_of(row))
