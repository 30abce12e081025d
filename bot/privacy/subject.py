"""The customer a disclosure or an erasure is about: their internal id and the identifiers other tables know them
by (LINE user ids, the audit's keyed hashes of them, the reference staff notices name them by)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from bot.platform.config import Settings
from bot.staff.admin import pseudonym
from bot.staff.desk import customer_ref
from models import Customer, CustomerChannels, LineMembership

CUSTOMERS = Customer.__table__
CHANNELS = CustomerChannels.__table__
MEMBERSHIPS = LineMembership.__table__


@dataclass(frozen=True)
class Subject:
    customer_id: int
    line_user_ids: tuple[str, ...]  # on their record and in the LINE members file (F7)
    audit_actors: tuple[str, ...]  # their LINE user ids as the audit keeps a stranger (keyed hashes)
    reference: str  # how staff notices and admin answers name them (顧客ID … （内部ID …）)
    identifiers: tuple[str, ...]  # 顧客ID, addresses and LINE ids: what a free-text field may name them by

    def named_in(self, value: Any) -> bool:
        """Whether a stored value (text or JSON) names this customer."""
        if value is None:
            return False
        written = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        return any(needle in written for needle in (self.reference, *self.identifiers))


def subject(connection: Connection, settings: Settings, customer_id: int) -> Subject:
    person = connection.execute(
        select(CUSTOMERS.c.customer_code, *CHANNELS.c)
        .select_from(CUSTOMERS.outerjoin(CHANNELS, CHANNELS.c.customer_id == CUSTOMERS.c.id))
        .where(CUSTOMERS.c.id == customer_id)
    ).one()
    members = connection.execute(
        select(MEMBERSHIPS.c.line_user_id).where(MEMBERSHIPS.c.customer_id == customer_id)
    ).scalars()
    line_ids = tuple(dict.fromkeys(uid for uid in (person.line_user_id, *members) if uid))
    known = (person.customer_code, person.email_main, person.email_sub, person.sms_phone, *line_ids)
    return Subject(
        customer_id=customer_id,
        line_user_ids=line_ids,
        audit_actors=tuple(pseudonym(settings, uid) for uid in line_ids),
        reference=customer_ref(connection, customer_id),
        identifiers=tuple(value for value in known if value),
    )
