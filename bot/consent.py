"""Opting out (配信停止): a customer withdraws marketing permission on a channel.

Every way of saying it ends here — the email's opt-out link or `List-Unsubscribe`, an SMS reply keyword or
link, LINE's "配信停止" postback, blocking the LINE account — so that it takes effect for every later send (the delivery rules read the
permission at send time) and is written once to the consent history with where it came from.
Transactional notices (a reservation confirmation) still need only an address.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select, update

from bot.engine.delivery import CHANNEL_COLUMNS
from flows.dsl import Channel
from models import ConsentEvent, CustomerChannels, Purpose

CHANNELS = CustomerChannels.__table__
CONSENT = ConsentEvent.__table__
BLOCKED_SOURCE = "line:unfollow"


def customers_on_line(connection: Connection, line_user_id: str) -> list[int]:
    statement = select(CHANNELS.c.customer_id).where(CHANNELS.c.line_user_id == line_user_id)
    return list(connection.execute(statement).scalars())


def opt_out(connection: Connection, customer_id: int, channel: Channel, source: str, at: datetime) -> bool:
    """Withdraw marketing permission on `channel`; False when it was not granted (nothing changes then)."""
    flag = CHANNELS.c[CHANNEL_COLUMNS[channel][1]]
    changed = connection.execute(
        update(CHANNELS)
        .where(CHANNELS.c.customer_id == customer_id, flag.is_not(False))
        .values({flag: False, CHANNELS.c.updated_at: at})
    ).rowcount
    if not changed:
        return False
    connection.execute(
        CONSENT.insert().values(
            customer_id=customer_id,
            channel=str(channel),
            purpose=Purpose.MARKETING,
            granted=False,
            occurred_at=at,
            source=source[:64],
        )
    )
    return True


def restore_after_block(connection: Connection, customer_id: int, at: datetime) -> bool:
    """A friend who unblocks us gets back the LINE permission that the block took away — and only that: a
    permission the insurer never had, or that the customer withdrew otherwise, stays withdrawn."""
    last = connection.execute(
        select(CONSENT.c.granted, CONSENT.c.source)
        .where(CONSENT.c.customer_id == customer_id, CONSENT.c.channel == str(Channel.LINE))
        .order_by(CONSENT.c.occurred_at.desc(), CONSENT.c.id.desc())
        .limit(1)
    ).first()
    if last is None or last.granted or last.source != BLOCKED_SOURCE:
        return False
    flag = CHANNELS.c[CHANNEL_COLUMNS[Channel.LINE][1]]
    connection.execute(
        update(CHANNELS)
        .where(CHANNELS.c.customer_id == customer_id)
        .values({flag: True, CHANNELS.c.updated_at: at})
    )
    connection.execute(
        CONSENT.insert().values(
            customer_id=customer_id,
            channel=str(Channel.LINE),
            purpose=Purpose.MARKETING,
            granted=True,
            occurred_at=at,
            source="line:follow",
        )
    )
    return True
