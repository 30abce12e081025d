"""What an SMS delivery receipt and a 配信停止 reply change: the ledger row (delivered and billed, or failed) and
the customer's SMS permission. Only delivered messages are billed (成功課金), at the tier of the Japan month's
delivered volume; above 100,000 a month the negotiated price is used, and without one the cost stays empty.
The carrier the receipt names is kept on the row (`carrier`; None when it names none): the dashboard groups
billed cost by it, and a row without a receipt is an estimate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select, update

from bot.delivery.channels.sms_billing import Carrier, cost, segments
from bot.delivery.consent import Evidence, opt_out
from flows.dsl import Channel
from models import CustomerChannels, Delivery, DeliveryStatus

DELIVERIES = Delivery.__table__
CHANNELS = CustomerChannels.__table__
TOKYO = ZoneInfo("Asia/Tokyo")
OPT_OUT_SOURCE = "sms:reply"


@dataclass(frozen=True)
class Receipt:
    provider_id: str
    delivered: bool  # False: failed
    carrier: Carrier = Carrier.UNKNOWN
    characters: int | None = None
    error: str | None = None


def apply_receipt(
    connection: Connection, receipt: Receipt, now: datetime, negotiated: Decimal | None
) -> bool:
    """Mark the SMS ledger row delivered (billed) or failed; False when unknown or already so."""
    row = connection.execute(
        select(DELIVERIES.c.id, DELIVERIES.c.status, DELIVERIES.c.segments)
        .where(DELIVERIES.c.channel == str(Channel.SMS), DELIVERIES.c.provider_id == receipt.provider_id)
        .order_by(DELIVERIES.c.id)
    ).first()
    if row is None:
        return False
    this_row = DELIVERIES.c.id == row.id
    final = [str(DeliveryStatus.DELIVERED), str(DeliveryStatus.FAILED)]
    if receipt.delivered:  # also after a failure receipt: the message evidently arrived, and is billed
        if row.status == DeliveryStatus.DELIVERED:
            return False
        billed = receipt_segments(receipt.carrier, receipt.characters, row.segments)
        price = monthly_price(connection, billed, now, negotiated) if billed else None
        values = {
            "status": final[0],
            "delivered_at": now,
            "segments": billed,
            "cost_yen": price,
            "carrier": carrier_of(receipt),
            "error": None,
        }
        statement = update(DELIVERIES).where(this_row, DELIVERIES.c.status != final[0])
    else:
        if row.status in final:
            return False  # a delivered message stays delivered; a failure is recorded once
        values = {"status": final[1], "error": receipt.error or "failed", "carrier": carrier_of(receipt)}
        statement = update(DELIVERIES).where(this_row, DELIVERIES.c.status.not_in(final))
    return connection.execute(statement.values({**values, "updated_at": now})).rowcount > 0


def carrier_of(receipt: Receipt) -> str | None:
    """The carrier to keep on the ledger row: the one the receipt names, None when it names none."""
    return None if receipt.carrier is Carrier.UNKNOWN else str(receipt.carrier)


def receipt_segments(carrier: Carrier, count: int | None, estimate: int | None) -> int | None:
    """Billable segments on the carrier that delivered: from the character count, else the send's estimate."""
    if count is not None:
        return segments("・" * count, carrier)  # sms_billing counts characters; any character counts one
    if carrier is Carrier.SOFTBANK:
        return 1  # SoftBank bills one segment for 1–660 characters
    return estimate


def monthly_price(
    connection: Connection, billed: int, now: datetime, negotiated: Decimal | None
) -> float | None:
    """Yen (tax excluded) for `billed` segments at the tier of this Japan month's delivered volume."""
    local = now.astimezone(TOKYO).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = local.replace(year=local.year + local.month // 12, month=local.month % 12 + 1)
    volume = connection.execute(
        select(func.coalesce(func.sum(DELIVERIES.c.segments), 0)).where(
            DELIVERIES.c.channel == str(Channel.SMS),
            DELIVERIES.c.status == str(DeliveryStatus.DELIVERED),
            DELIVERIES.c.delivered_at >= local,
            DELIVERIES.c.delivered_at < following,
        )
    ).scalar_one()
    try:
        return float(cost(billed, int(volume) + billed, negotiated).yen_excluding_tax)
    except ValueError:  # above 100,000 a month and no negotiated price configured
        return None


def opt_out_number(connection: Connection, number: str, now: datetime, message_id: str | None) -> int:
    """Withdraw SMS marketing permission for every customer with this E.164 number; how many changed. The
    provider's id of the reply, when it gives one, is the evidence."""
    evidence = Evidence(ref=f"sms:{message_id}" if message_id else None)
    customers = connection.execute(
        select(CHANNELS.c.customer_id).where(CHANNELS.c.sms_phone == number).order_by(CHANNELS.c.customer_id)
    ).scalars()
    return sum(
        opt_out(connection, customer, Channel.SMS, OPT_OUT_SOURCE, now, evidence)
        for customer in list(customers)
    )
