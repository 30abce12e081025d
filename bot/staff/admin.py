"""Who may command the bot from the admin chat, and the audit log of every attempt.

Staff are LINE users listed in ADMIN_USERS with their roles (operator: run commands; approver: also confirm a
large broadcast someone else prepared), or members of a group listed in ADMIN_GROUPS (operators there). A
command in any other group, or from anyone else in 1:1, runs nothing: the sender gets the ordinary bot, with no
hint that commands exist. Every attempt, allowed or refused, is written to the append-only `admin_audit`, and
so is every personal-data access from the operator CLI (`flask why`, `requests list`, `customers export`).

The audit names customers by internal id only; an identifier of a customer that must be kept (a 顧客ID typed in
a look-up, a stranger's LINE user id) is kept as a keyed hash (`pseudonym`), so erasing a customer (bot/privacy)
never has to change this append-only log.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, insert

from bot.platform.config import Settings
from models import AdminAudit

AUDIT = AdminAudit.__table__
ONE_TO_ONE = "1:1"
CLI = "cli"  # the place of a `flask …` command run by an operator


class Role(StrEnum):
    OPERATOR = "operator"
    APPROVER = "approver"


@dataclass(frozen=True)
class StaffMember:
    """A staff member commanding from `place` (a group id or 1:1), with their roles there."""

    actor: str
    place: str
    roles: frozenset[Role]

    @property
    def reply_to(self) -> str:
        """Where answers go: the group, or the staff member in 1:1."""
        return self.actor if self.place == ONE_TO_ONE else self.place

    def may(self, role: Role) -> bool:
        return role in self.roles


def speaker(source: Any) -> tuple[str | None, str]:
    """(LINE user id, place) of a webhook event's source."""
    place = getattr(source, "group_id", None) or getattr(source, "room_id", None) or ONE_TO_ONE
    return getattr(source, "user_id", None), place


def identify(settings: Settings, source: Any) -> StaffMember | None:
    """The staff member behind an event, or None for anyone who may not command from where they are."""
    actor, place = speaker(source)
    if actor is None:
        return None
    listed = frozenset(Role(role) for role in settings.admin_users.get(actor, ()))
    if place == ONE_TO_ONE:
        return StaffMember(actor, place, listed) if listed else None
    if place not in settings.admin_groups:
        return None
    return StaffMember(actor, place, listed | {Role.OPERATOR})


_AUDITED_CUSTOMERS = re.compile(r"\bcustomers? ([0-9][0-9,]*)")


def pseudonym(settings: Settings, value: str) -> str:
    """A customer identifier (a 顧客ID, a LINE user id, what a stranger typed) as the append-only audit keeps it:
    a keyed hash, the same for the same value and useless without AUDIT_HASH_KEY. Erasing the customer then
    needs no change to the log, and the log names nobody once the identifier itself is gone."""
    key = (settings.audit_hash_key or settings.derived_key("admin-audit")).encode()
    return "#" + hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:16]


def operator(by: str | None) -> str:
    """Who runs a `flask …` command, for the audit: the staff member named with `--by`, else the login of the
    shell it runs in (on a PaaS one-off dyno that login says little, hence `--by`), never nobody."""
    if by and by.strip():
        return by.strip()[:64]
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry for the uid (a container)
        login = "unknown"
    return f"os:{login}"[:64]


def about(customer_ids: list[int], room: int = 480) -> str:
    """The audit detail naming the customers an access showed, by internal id ("customer 42", "customers 4,7");
    a list longer than the column ends with how many more, never with a cut id."""
    if len(customer_ids) == 1:
        return f"customer {customer_ids[0]}"
    named = "customers " + ",".join(map(str, customer_ids))
    if len(named) <= room:
        return named
    kept = named[:room].rsplit(",", 1)[0]
    return f"{kept} (+{len(customer_ids) - kept.count(',') - 1} more)"


def audited_customers(detail: str | None) -> set[int]:
    """The internal ids an audit detail names (the reverse of `about`, and of the desk's own details)."""
    return {int(n) for found in _AUDITED_CUSTOMERS.findall(detail or "") for n in found.split(",") if n}


def audit(
    connection: Connection,
    actor: str,
    place: str,
    command: str,
    arguments: str,
    result: str,
    at: datetime,
    detail: str | None = None,
    personal_data: bool = False,
) -> None:
    connection.execute(
        insert(AUDIT).values(
            at=at,
            actor=actor,
            place=place,
            command=command[:32],
            arguments=arguments[:500] or None,
            result=result,
            detail=(detail or "")[:500] or None,
            personal_data=personal_data,
        )
    )
