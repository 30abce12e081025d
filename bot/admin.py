"""Who may command the bot from the admin chat, and the audit log of every attempt.

Staff are LINE users listed in ADMIN_USERS with their roles (operator: run commands; approver: also confirm a
large broadcast someone else prepared), or members of a group listed in ADMIN_GROUPS (operators there). A
command in any other group, or from anyone else in 1:1, runs nothing: the sender gets the ordinary bot, with no
hint that commands exist. Every attempt, allowed or refused, is written to the append-only `admin_audit`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, insert

from bot.config import Settings
from models import AdminAudit

AUDIT = AdminAudit.__table__
ONE_TO_ONE = "1:1"


class Role(StrEnum):
    OPERATOR = "operator"
    APPROVER = "approver"


@dataclass(frozen=True)
class Staff:
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


def identify(settings: Settings, source: Any) -> Staff | None:
    """The staff member behind an event, or None for anyone who may not command from where they are."""
    actor, place = speaker(source)
    if actor is None:
        return None
    listed = frozenset(Role(role) for role in settings.admin_users.get(actor, ()))
    if place == ONE_TO_ONE:
        return Staff(actor, place, listed) if listed else None
    if place not in settings.admin_groups:
        return None
    return Staff(actor, place, listed | {Role.OPERATOR})


_DIGITS = re.compile(r"\D")


def masked(arguments: list[str]) -> str:
    """Arguments as an audit row may keep them when nobody vetted them (a stranger's attempt): an email
    address or a phone number in them is masked (t***@example.jp, ****5678)."""
    out = []
    for word in arguments:
        if "@" in word:
            local, _, domain = word.partition("@")
            word = f"{local[:1]}***@{domain}"
        elif len(_DIGITS.sub("", word)) >= 8:
            word = "****" + _DIGITS.sub("", word)[-4:]
        out.append(word)
    return " ".join(out)


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
