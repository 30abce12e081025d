"""SMS segments and cost per Japan month, as the delivery receipts billed them and, for messages whose receipt has
not come, as an estimate that says it is one.

Each SMS the provider took (`sent_at`) falls in one of three kinds:
- billed: a receipt said delivered; its carrier (`deliveries.carrier`, None when the receipt named none: shown
  as "not reported"), the carrier's segments and the price at the month's tier, as bot/delivery/sms_receipts.py
  wrote them;
- estimate (見込み): no receipt yet; the send job's segments (for the carrier that bills most) at the unit price
  of the month's tier, counting the month's billed segments and these;
- undelivered: a receipt said failed: not billed (成功課金), so no cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, case, func, literal, select

from bot.delivery.channels.sms_billing import unit_price
from bot.staff.reach import day_start
from flows.engine import japan_day
from models import Delivery, DeliveryStatus

DELIVERIES = Delivery.__table__
KINDS = ("billed", "estimate", "undelivered")
NOT_REPORTED = "not_reported"  # a billed message whose receipt named no carrier


@dataclass(frozen=True)
class SmsMonth:
    month: str  # YYYY-MM in Japan
    kind: str  # billed, estimate, undelivered
    carrier: str | None  # billed: the receipt's carrier or NOT_REPORTED; otherwise None
    messages: int
    segments: int
    cost_yen: float | None  # billed: the receipts' price; estimate: the tier's price; None above the tiers


def _japan_month(connection: Connection, column: Any) -> Any:
    # Japan has no daylight saving time: +9 hours is Japan time all year round.
    if connection.dialect.name == "postgresql":
        return func.to_char(func.timezone("Asia/Tokyo", column), "YYYY-MM")
    return func.strftime("%Y-%m", column, "+9 hours")


def _first_month(now: datetime, months: int) -> datetime:
    first = japan_day(now).replace(day=1)
    for _ in range(months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    return day_start(first)


def sms_months(
    connection: Connection, now: datetime, months: int = 12, negotiated: Decimal | None = None
) -> list[SmsMonth]:
    """SMS the provider took per Japan month (the last `months`) and kind: messages, segments and cost."""
    status = DELIVERIES.c.status
    kind = case(
        (status == DeliveryStatus.DELIVERED, literal("billed")),
        (status == DeliveryStatus.FAILED, literal("undelivered")),
        else_=literal("estimate"),
    )
    billed = status == DeliveryStatus.DELIVERED
    carrier = case((billed, func.coalesce(DELIVERIES.c.carrier, NOT_REPORTED)), else_=literal(""))
    sent = (
        select(
            _japan_month(connection, DELIVERIES.c.sent_at).label("month"),
            kind.label("kind"),
            carrier.label("carrier"),
            DELIVERIES.c.segments,
            DELIVERIES.c.cost_yen,
        )
        .where(DELIVERIES.c.channel == "sms", DELIVERIES.c.sent_at >= _first_month(now, months))
        .subquery()  # grouped outside: PostgreSQL sees the bound values of an expression as new ones
    )
    grouped = select(
        sent.c.month,
        sent.c.kind,
        sent.c.carrier,
        func.count().label("messages"),
        func.coalesce(func.sum(sent.c.segments), 0).label("segments"),
        func.sum(sent.c.cost_yen).label("cost"),
        func.count(sent.c.cost_yen).label("priced"),
    ).group_by(sent.c.month, sent.c.kind, sent.c.carrier)
    rows = list(connection.execute(grouped))
    volume: dict[str, int] = {}
    for row in rows:
        if row.kind == "billed":
            volume[row.month] = volume.get(row.month, 0) + int(row.segments)
    out = []
    for row in rows:
        segments = int(row.segments)
        if row.kind == "billed":
            cost = float(row.cost) if row.priced == row.messages else None  # above the tiers, unpriced
        elif row.kind == "estimate":
            cost = _estimate(segments, volume.get(row.month, 0) + segments, negotiated)
        else:
            segments, cost = 0, 0.0
        carrier = row.carrier or None
        out.append(SmsMonth(row.month, row.kind, carrier, row.messages, segments, cost))
    order = {kind: n for n, kind in enumerate(KINDS)}
    return sorted(out, key=lambda m: (m.month, order[m.kind], m.carrier or ""))


def _estimate(segments: int, month_volume: int, negotiated: Decimal | None) -> float | None:
    try:
        return float(segments * unit_price(month_volume, negotiated))
    except ValueError:  # above 100,000 a month without a negotiated price: no figure rather than a guess
        return None
