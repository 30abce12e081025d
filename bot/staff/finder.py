"""Which customer staff mean by what they type: a 顧客ID, an email address, a phone number, a LINE user id or
the service's internal id (`42`, or `id:42` to mean that and nothing else). The operator CLI (`flask why`,
`flask customers …`, `flask coupons issue`) and the admin chat (/customer, /why, /coupon, /export, /erase)
find customers here and nowhere else.

A key is read every way it can be read, and every customer it names is returned: a phone number on two
records, or a numeric 顧客ID that is also another customer's internal id, gives two, and the caller lets staff
choose; nobody is picked silently. Phone numbers and addresses are read as the importer reads them
(bot/imports/values.py), so 090-1234-5678, ０９０１２３４５６７８ and +819012345678 are one number.

It lives with the staff tools rather than in bot/customers because it reads keys with the importer's parsers,
a layer above that package.
"""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, Connection, func, or_, select

from bot.imports import values
from models import Customer, CustomerChannels, LineMembership

CUSTOMERS = Customer.__table__
CHANNELS = CustomerChannels.__table__
MEMBERSHIPS = LineMembership.__table__
MATCHES_SHOWN = 10  # customers listed to choose from
INTERNAL = "id:"  # `id:42`: the internal id 42, not a 顧客ID or phone number that reads the same
LARGEST_ID = 2**31 - 1  # a longer number is no internal id (and PostgreSQL's integer would refuse it)
_NUMBER = re.compile(r"[1-9][0-9]{0,9}")


def find_customers(connection: Connection, key: str) -> list[int]:
    """The internal ids of the customers `key` names, lowest first; at most MATCHES_SHOWN + 1, so that a caller
    can say there are more than it shows."""
    typed = values.normalise(key)  # full-width digits and letters as ASCII, as the importer stored them
    if typed.lower().startswith(INTERNAL):
        number = _number(typed[len(INTERNAL) :].strip())
        return sorted(_ids(connection, CUSTOMERS.c.id, CUSTOMERS.c.id == number)) if number else []
    found: set[int] = set()
    if typed:
        found |= _ids(connection, CUSTOMERS.c.id, CUSTOMERS.c.customer_code == typed)
        found |= _ids(connection, CHANNELS.c.customer_id, CHANNELS.c.line_user_id == typed)
        found |= _ids(connection, MEMBERSHIPS.c.customer_id, MEMBERSHIPS.c.line_user_id == typed)
        found |= _by_email(connection, typed) if "@" in typed else _by_phone(connection, typed)
        if number := _number(typed):
            found |= _ids(connection, CUSTOMERS.c.id, CUSTOMERS.c.id == number)
    return sorted(found)[: MATCHES_SHOWN + 1]


def outcome(found: list[int]) -> str:
    """A look-up's result as the audit records it: done (one customer), not_found, or ambiguous (several)."""
    return "done" if len(found) == 1 else "ambiguous" if found else "not_found"


def _number(typed: str) -> int | None:
    """An internal id: a plain number, no leading zero (090… is a phone number), within the column's range."""
    return int(typed) if _NUMBER.fullmatch(typed) and int(typed) <= LARGEST_ID else None


def _by_phone(connection: Connection, typed: str) -> set[int]:
    try:
        number = values.phone(typed)
    except ValueError:
        return set()
    return _ids(connection, CHANNELS.c.customer_id, CHANNELS.c.sms_phone == number)


def _by_email(connection: Connection, typed: str) -> set[int]:
    try:
        address = values.email(typed)
    except ValueError:
        return set()
    either = or_(CHANNELS.c.email_main == address, CHANNELS.c.email_sub == address)
    exact = _ids(connection, CHANNELS.c.customer_id, either)
    if exact:
        return exact
    lowered = address.lower()  # customers type their address in any case
    either = or_(func.lower(CHANNELS.c.email_main) == lowered, func.lower(CHANNELS.c.email_sub) == lowered)
    return _ids(connection, CHANNELS.c.customer_id, either)


def _ids(connection: Connection, column, where: ColumnElement[bool]) -> set[int]:
    statement = select(column).where(where).order_by(column).limit(MATCHES_SHOWN + 1)
    return set(connection.execute(statement).scalars())
