"""Broadcasts (一斉配信): one template to many customers, written to the ledger in one statement.

Each recipient gets one row on the first channel of the broadcast's ladder that may carry it (LINE when the
friend has not blocked us, then SMS, email, app push; marketing needs the channel's permission, a
transactional notice only an address). Rows are unique per (broadcast, customer, channel), so queueing a
broadcast twice writes nothing new. Content without personal fields goes to LINE by multicast: its LINE rows are
numbered into groups of 500 (`batch_key`), each group one request with one retry key.

The staff commands that count, confirm and approve a broadcast are the admin chat's; this is what they call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, bindparam, func, select, text, update

from bot.delivery.channels.line import MULTICAST_LIMIT
from bot.delivery.rules import CHANNEL_COLUMNS
from bot.platform.i18n import text as locale_text
from flows.dsl import Channel, Purpose
from models import SENDABLE, Broadcast, BroadcastStatus, Delivery, DeliveryStatus

DELIVERIES = Delivery.__table__
BROADCASTS = Broadcast.__table__
PERSONAL = re.compile(r"%\{(?!service_name\})")  # any merge field but the service's own name


def parse_channels(spec: str) -> tuple[Channel, ...]:
    """ "first_reachable:line,sms,email" or "only:sms" → the channels in order (a broadcast reaches each
    customer on one channel: "all:" is refused)."""
    pick, _, names = spec.partition(":")
    if pick not in ("first_reachable", "only"):
        raise ValueError(f"broadcast channels {spec!r}: use first_reachable:… or only:…")
    return tuple(Channel(name) for name in names.split(",") if name)


def personalised(template: str, locale: str) -> bool:
    """Whether the template's text names the customer or their records (then LINE pushes it one by one)."""
    return bool(PERSONAL.search(locale_text(f"messages.{template}.text", locale)))


def queue_broadcast(
    connection: Connection, broadcast: Broadcast, now: datetime, customer_ids: Sequence[int] | None = None
) -> int:
    """Write the ledger rows of `broadcast` (to `customer_ids`, or every customer) and mark it queued."""
    channels = parse_channels(broadcast.channels)
    if broadcast.channels.startswith("only:") and len(channels) != 1:
        raise ValueError(f"broadcast channels {broadcast.channels!r}: 'only' takes one channel")
    marketing = broadcast.purpose == Purpose.MARKETING
    choices = []
    for channel in channels:
        address, flag = CHANNEL_COLUMNS[channel]
        condition = f"c.{address} <> ''"  # an address on file, as load_reach reads it: neither NULL nor empty
        if marketing:
            condition += f" AND c.{flag} = :yes"
        if channel is Channel.LINE:
            condition += " AND (u.friend_status IS NULL OR u.friend_status <> 'blocked')"
        choices.append(f"WHEN {condition} THEN '{channel}'")
    postgres = connection.dialect.name == "postgresql"
    token = (
        "substr(replace(gen_random_uuid()::text, '-', ''), 1, 22)"
        if postgres
        else "lower(hex(randomblob(11)))"
    )
    audience = "" if customer_ids is None else "AND c.customer_id IN (SELECT value FROM json_each(:ids))"
    if postgres and customer_ids is not None:
        audience = "AND c.customer_id = ANY(:ids)"
    group = (
        f"CASE WHEN channel = 'line' THEN 'b{broadcast.id}:' || "
        f"((row_number() OVER (PARTITION BY channel ORDER BY customer_id) - 1) / {MULTICAST_LIMIT}) END"
        if not personalised(broadcast.template, "ja")
        else "NULL"
    )
    statement = text(f"""
        WITH chosen AS (
            SELECT c.customer_id, CASE {" ".join(choices)} END AS channel
            FROM customer_channels c LEFT JOIN line_users u ON u.line_user_id = c.line_user_id
            WHERE 1 = 1 {audience}
        )
        INSERT INTO deliveries (broadcast_id, customer_id, step, template, channel, purpose, status, due_at,
                                attempts, token, batch_key, created_at, updated_at)
        SELECT :broadcast, customer_id, 'broadcast', :template, channel, :purpose, 'queued', :due, 0,
               {token}, {group}, :now, :now
        FROM chosen WHERE channel IS NOT NULL
        ON CONFLICT DO NOTHING
    """).bindparams(  # typed, so SQLite stores them like every other timestamp (comparable as text)
        bindparam("due", type_=DELIVERIES.c.due_at.type), bindparam("now", type_=DELIVERIES.c.created_at.type)
    )
    params = {
        "broadcast": broadcast.id,
        "template": broadcast.template,
        "purpose": broadcast.purpose,
        "due": broadcast.send_at or now,
        "now": now,
        "yes": True,
    }
    if customer_ids is not None:
        params["ids"] = list(customer_ids) if postgres else _json(customer_ids)
    before = _count(connection, broadcast.id)
    connection.execute(statement, params)
    written = _count(connection, broadcast.id) - before
    connection.execute(
        update(BROADCASTS)
        .where(BROADCASTS.c.id == broadcast.id)
        .values(status=BroadcastStatus.QUEUED, updated_at=now)
    )
    return written


def cancel_broadcast(connection: Connection, broadcast_id: int, now: datetime) -> int:
    """Stop a broadcast: every row not yet sent is failed as "cancelled" (a job sending right now skips the rest
    of its rows at its next chunk); returns the rows stopped."""
    connection.execute(
        update(BROADCASTS)
        .where(BROADCASTS.c.id == broadcast_id)
        .values(status=BroadcastStatus.CANCELLED, updated_at=now)
    )
    return connection.execute(
        update(DELIVERIES)
        .where(
            DELIVERIES.c.broadcast_id == broadcast_id,
            DELIVERIES.c.status.in_(SENDABLE),
        )
        .values(
            status=DeliveryStatus.FAILED, error="cancelled", claimed_until=None, send_job=None, updated_at=now
        )
    ).rowcount


def cancelled_broadcasts(connection: Connection, broadcast_ids: set[int]) -> set[int]:
    if not broadcast_ids:
        return set()
    statement = select(BROADCASTS.c.id).where(
        BROADCASTS.c.id.in_(sorted(broadcast_ids)), BROADCASTS.c.status == BroadcastStatus.CANCELLED
    )
    return set(connection.execute(statement).scalars())


def _count(connection: Connection, broadcast_id: int | None) -> int:
    return connection.execute(
        select(func.count()).select_from(DELIVERIES).where(DELIVERIES.c.broadcast_id == broadcast_id)
    ).scalar_one()


def _json(ids: Sequence[int]) -> str:
    return json.dumps([int(i) for i in ids])
