"""The delivery ledger in figures, one definition for every place that shows them (`flask delivery status`, the
dashboard; the admin chat's /stats and the dashboard's funnel count the scenario share of the same "sent").

- rows per channel and status: every ledger row, whatever wrote it;
- sent: rows the provider took (`sent_at` set), whatever happened after (a delivery receipt may say delivered or
  failed), per channel and by origin: a scenario's step (`enrollment_id`), a broadcast (`broadcast_id`), or an
  answer in a chat or a notice (neither). The scenario share per channel is the sum of the funnels' "sent".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, case, func, literal, select

from models import Delivery

DELIVERIES = Delivery.__table__
ORIGINS = ("scenario", "broadcast", "chat")
CHANNEL_ORDER = ("line", "email", "sms", "push")


@dataclass
class ChannelLedger:
    statuses: dict[str, int] = field(default_factory=dict)  # rows per status
    sent: dict[str, int] = field(default_factory=dict)  # rows the provider took, per origin

    @property
    def rows(self) -> int:
        return sum(self.statuses.values())

    @property
    def sent_total(self) -> int:
        return sum(self.sent.values())


def origin() -> object:
    """What wrote a ledger row: a scenario, a broadcast, or a chat answer / notice."""
    return case(
        (DELIVERIES.c.enrollment_id.is_not(None), literal("scenario")),
        (DELIVERIES.c.broadcast_id.is_not(None), literal("broadcast")),
        else_=literal("chat"),
    )


def ledger(connection: Connection) -> dict[str, ChannelLedger]:
    """{channel: its rows per status and its sent rows per origin}, channels in CHANNEL_ORDER first."""
    found: dict[str, ChannelLedger] = {}
    per_status = select(DELIVERIES.c.channel, DELIVERIES.c.status, func.count()).group_by(
        DELIVERIES.c.channel, DELIVERIES.c.status
    )
    for channel, status, count in connection.execute(per_status):
        found.setdefault(channel, ChannelLedger()).statuses[str(status)] = count
    rows = (
        select(DELIVERIES.c.channel, origin().label("origin"))
        .where(DELIVERIES.c.sent_at.is_not(None))
        .subquery()  # grouped outside: PostgreSQL sees the bound values of an expression as new ones
    )
    per_origin = select(rows.c.channel, rows.c.origin, func.count()).group_by(rows.c.channel, rows.c.origin)
    for channel, where, count in connection.execute(per_origin):
        found.setdefault(channel, ChannelLedger()).sent[where] = count
    order = {channel: n for n, channel in enumerate(CHANNEL_ORDER)}
    return dict(sorted(found.items(), key=lambda item: (order.get(item[0], len(order)), item[0])))
