"""Erasure (利用停止・消去): one customer's personal data leaves every table in one transaction, irreversibly.

What each table keeps and loses is declared in `holdings`. The customer row stays as a tombstone (`erased_at`),
so foreign keys and the dashboard's counts up to the erasure hold; LINE is unlinked (their LINE user id leaves
every table), their scenarios stop and their waiting messages are not sent. The erasure is audited by internal
id only; the audit itself holds no customer identifier in the clear (bot/staff/admin.py), so it is left as it is.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from redis import Redis
from sqlalchemy import Connection, MetaData, Table, select

from bot.chat.attachments import forget_objects
from bot.platform.config import Settings
from bot.privacy.holdings import HOLDINGS, REDIS_KEYS, UndeclaredTables, undeclared
from bot.privacy.subject import Subject, subject
from bot.staff.admin import audit
from models import Customer

log = logging.getLogger(__name__)
CUSTOMERS = Customer.__table__


@dataclass(frozen=True)
class Erasure:
    customer_id: int
    erased_at: datetime
    already: bool = False  # erased before: nothing was done
    changed: dict[str, int] = field(default_factory=dict)  # rows changed per table
    line_user_ids: tuple[str, ...] = ()  # for the Redis clean-up after commit (never logged)


def erase_customer(
    connection: Connection,
    metadata: MetaData,
    settings: Settings,
    customer_id: int,
    *,
    actor: str,
    place: str,
    arguments: str,
    now: datetime,
) -> Erasure:
    """Erase the customer (by internal id) and audit it, in the caller's transaction."""
    missing = undeclared(metadata)
    if missing:
        raise UndeclaredTables(", ".join(missing))
    locked = select(CUSTOMERS.c.erased_at).where(CUSTOMERS.c.id == customer_id)
    if connection.dialect.name == "postgresql":
        locked = locked.with_for_update()  # two erasures at once: the second finds a tombstone
    before = connection.execute(locked).scalar_one()
    detail = f"customer {customer_id}"
    if before is not None:
        audit(connection, actor, place, "erase", arguments, "already", now, f"{detail} erased before")
        return Erasure(customer_id, before, already=True)
    who = subject(connection, settings, customer_id)
    # objects in S3 first: if the store cannot delete them, the erasure fails whole and can be run again
    forget_objects(connection, settings, customer_id)
    changed = {}
    for table in reversed(metadata.sorted_tables):  # rows referring to the customer before the customer row
        if table.name in HOLDINGS:
            changed[table.name] = _erase(connection, table, who, now)
    audit(connection, actor, place, "erase", arguments, "done", now, f"{detail} erased")
    log.info("customer=%s erased (%s rows changed)", customer_id, sum(changed.values()))
    return Erasure(customer_id, now, changed=changed, line_user_ids=who.line_user_ids)


def _erase(connection: Connection, table: Table, who: Subject, now: datetime) -> int:
    holding = HOLDINGS[table.name]
    where = holding.find(table, who)
    if holding.matches is not None:  # a broad selection, sharpened row by row: erase exactly the rows shown
        key = table.c.id
        rows = connection.execute(select(table).where(where))
        where = key.in_([row.id for row in rows if holding.matches(row, who)] or [-1])
    return holding.erase(connection, table, where, who, now)


def forget_in_redis(redis: Redis, erasure: Erasure) -> int:
    """Delete the Redis keys that may hold the customer's data (the local simulator's); run after the commit."""
    own = REDIS_KEYS[1].format(customer_id=erasure.customer_id)
    remembered = redis.get(own)  # the LINE user the simulator made up for them
    users = set(erasure.line_user_ids) | ({_text(remembered)} if remembered else set())
    keys = {own}
    for user in users:
        keys.update(
            _text(k) for k in redis.scan_iter(match=REDIS_KEYS[0].format(line_user_id=user), count=500)
        )
    return redis.delete(*keys)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
