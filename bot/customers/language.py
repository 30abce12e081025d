"""The language the service speaks to a customer in (customers.language): Japanese or English.

It is None until someone names it: LINE's profile language when the customer becomes a LINE friend, or the
customer's own choice in the chat (「English」/「日本語」). While it is None the service's default applies.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select, update

from bot.platform.bulk import select_map
from bot.platform.i18n import SUPPORTED
from models import Customer

CUSTOMERS = Customer.__table__


def supported_language(tag: str | None) -> str | None:
    """A BCP 47 tag as LINE reports it ("en", "en-US", "ja", "zh-Hant") → a language the service speaks, or
    None for one it does not (the default applies)."""
    if not tag:
        return None
    primary = tag.strip().replace("_", "-").split("-")[0].lower()
    return primary if primary in SUPPORTED else None


def customer_locale(connection: Connection, customer_id: int, default: str) -> str:
    """The language to speak to this customer in."""
    chosen = connection.execute(select(CUSTOMERS.c.language).where(CUSTOMERS.c.id == customer_id)).scalar()
    return chosen if chosen in SUPPORTED else default


def customer_locales(connection: Connection, customer_ids: Iterable[int], default: str) -> dict[int, str]:
    """{customer id: language} for a batch (every id asked for has one: the default when unset)."""
    ids = set(customer_ids)
    found = select_map(connection, CUSTOMERS, "id", ids, "language")
    chosen = {cid: getattr(found.get(cid), "language", None) for cid in ids}
    return {cid: language if language in SUPPORTED else default for cid, language in chosen.items()}


def set_language(
    connection: Connection, customer_id: int, language: str, *, only_unset: bool = False
) -> bool:
    """Record the customer's language; with `only_unset`, only when none is recorded yet (LINE's profile never
    overrides the customer's own choice). Whether it changed."""
    if language not in SUPPORTED:
        raise ValueError(f"unsupported language {language!r}")
    statement = update(CUSTOMERS).where(CUSTOMERS.c.id == customer_id)
    if only_unset:
        statement = statement.where(CUSTOMERS.c.language.is_(None))
    return bool(connection.execute(statement.values(language=language)).rowcount)
