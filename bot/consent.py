"""Opting out (配信停止): a customer withdraws marketing permission on a channel.

Every way of saying it ends here — the email's opt-out link or `List-Unsubscribe`, an SMS reply keyword or
link, LINE's "配信停止" postback — so that it takes effect for every later send (the delivery rules read the
permission at send time) and is written once to the consent history with where it came from.
Transactional notices (a reservation confirmation) still need only an address.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, update

from bot.engine.delivery import CHANNEL_COLUMNS
from flows.dsl import Channel
from models import ConsentEvent, CustomerChannels, Purpose

CHANNELS = CustomerChannels.__table__
CONSENT = ConsentEvent.__table__


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
