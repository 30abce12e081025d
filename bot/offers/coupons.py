"""Coupons (クーポン): a campaign says what a coupon gives, how long it is valid, how many each customer and all
customers may get; a coupon is issued to one customer, shown in LINE, and redeemed once at the counter (by
the customer's tap, a staff command or the API). Redeeming a coupon of campaign X marks the customer's benefit
of campaign X used (#17's goal). Three days before a coupon expires the customer is reminded, once.

Issuing is idempotent: a customer holds at most `per_customer_limit` live coupons of a campaign, and the total
cap holds under concurrent issuers (the campaign row is locked first: `FOR UPDATE` on PostgreSQL, the write
lock on SQLite). Codes are 10 characters of Crockford base32 (50 random bits, no I, L, O or U to misread).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, Select, func, insert, select, update

from bot.customers.language import customer_locale
from bot.delivery.outbox import queue_message
from bot.platform import outbound
from bot.platform.config import Settings
from bot.platform.runtime import current
from flows.dsl import Purpose
from models import (
    CampaignBenefit,
    Coupon,
    CouponCampaign,
    CouponStatus,
    CustomerChannels,
    Delivery,
)

log = logging.getLogger(__name__)

CAMPAIGNS = CouponCampaign.__table__
COUPONS = Coupon.__table__
BENEFITS = CampaignBenefit.__table__
CHANNELS = CustomerChannels.__table__
DELIVERIES = Delivery.__table__
TOKYO = ZoneInfo("Asia/Tokyo")
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
CODE_LENGTH = 10
_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0"})  # what a customer or staff may type instead
REMINDER_BATCH = 1000


class IssueOutcome(StrEnum):
    ISSUED = "issued"
    ALREADY = "already"  # the customer holds as many as the campaign allows: the latest is returned
    CAP_REACHED = "cap_reached"
    NO_CAMPAIGN = "no_campaign"


class RedeemOutcome(StrEnum):
    REDEEMED = "redeemed"
    REVOKED_NOW = "revoked_now"  # staff revoked it
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True)
class Issued:
    outcome: IssueOutcome
    coupon: Any | None = None  # the coupon row joined with its campaign


@dataclass(frozen=True)
class Redemption:
    outcome: RedeemOutcome
    coupon: Any | None = None


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str | None:
    """A typed or tapped code as stored (case, spaces and hyphens ignored; I/L read as 1, O as 0), or None."""
    code = "".join(text.split()).replace("-", "").upper().translate(_READ_AS)
    return code if len(code) == CODE_LENGTH and all(c in ALPHABET for c in code) else None


def display_code(code: str) -> str:
    """Grouped for reading aloud at the counter: 7KQ2M-X9HPD."""
    return f"{code[:5]}-{code[5:]}"


def expiry(issued_at: datetime, valid_days: int) -> datetime:
    """The end of the Japanese day `valid_days` after issue (a coupon is valid "until 6月8日")."""
    last_day = issued_at.astimezone(TOKYO).date() + timedelta(days=valid_days)
    return datetime.combine(last_day + timedelta(days=1), time.min, TOKYO)


def last_day(expires_at: datetime) -> datetime:
    return (expires_at - timedelta(seconds=1)).astimezone(TOKYO)


def create_campaign(connection: Connection, code: str, now: datetime, **values: Any) -> bool:
    """A new campaign (False if the code exists: campaigns are not edited, as LINE's coupons are not)."""
    if connection.execute(select(CAMPAIGNS.c.code).where(CAMPAIGNS.c.code == code)).first() is not None:
        return False
    connection.execute(insert(CAMPAIGNS).values(code=code, created_at=now, **values))
    return True


def issue(connection: Connection, campaign_code: str, customer_id: int, now: datetime) -> Issued:
    """One more coupon of the campaign for the customer, unless they hold the campaign's limit already (then
    their latest) or the campaign's total cap is reached. Revoked coupons count for neither."""
    if not _lock_campaign(connection, campaign_code):
        return Issued(IssueOutcome.NO_CAMPAIGN)
    campaign = connection.execute(select(CAMPAIGNS).where(CAMPAIGNS.c.code == campaign_code)).one()
    live = COUPONS.c.status != CouponStatus.REVOKED
    mine = connection.execute(
        select(COUPONS.c.id, COUPONS.c.seq, COUPONS.c.status)
        .where(COUPONS.c.campaign_code == campaign_code, COUPONS.c.customer_id == customer_id)
        .order_by(COUPONS.c.seq.desc())
    ).all()
    held = [c for c in mine if c.status != CouponStatus.REVOKED]
    if len(held) >= campaign.per_customer_limit:
        return Issued(IssueOutcome.ALREADY, find(connection, held[0].id))
    if campaign.total_cap is not None:
        total = connection.execute(
            select(func.count()).select_from(COUPONS).where(COUPONS.c.campaign_code == campaign_code, live)
        ).scalar_one()
        if total >= campaign.total_cap:
            return Issued(IssueOutcome.CAP_REACHED)
    coupon_id = connection.execute(
        insert(COUPONS)
        .values(
            campaign_code=campaign_code,
            customer_id=customer_id,
            seq=(mine[0].seq if mine else 0) + 1,
            code=new_code(),
            status=CouponStatus.ISSUED,
            issued_at=now,
            expires_at=expiry(now, campaign.valid_days),
        )
        .returning(COUPONS.c.id)
    ).scalar_one()
    log.info("coupon=%s issued campaign=%s customer=%s", coupon_id, campaign_code, customer_id)
    return Issued(IssueOutcome.ISSUED, find(connection, coupon_id))


def _lock_campaign(connection: Connection, campaign_code: str) -> bool:
    """Serialise issuers of one campaign until the transaction ends; False when there is no such campaign."""
    if connection.dialect.name == "postgresql":
        statement = select(CAMPAIGNS.c.code).where(CAMPAIGNS.c.code == campaign_code).with_for_update()
        return connection.execute(statement).first() is not None
    # SQLite locks the whole database for writing: a no-op update takes that lock before anything is counted
    touched = update(CAMPAIGNS).where(CAMPAIGNS.c.code == campaign_code).values(code=CAMPAIGNS.c.code)
    return connection.execute(touched).rowcount == 1


def find(connection: Connection, coupon_id: int | None = None, code: str | None = None) -> Any | None:
    """A coupon with its campaign's title, benefit and LINE coupon id, by id or by stored code."""
    key = COUPONS.c.id == coupon_id if coupon_id is not None else COUPONS.c.code == code
    return connection.execute(_with_campaign().where(key)).first()


def _with_campaign() -> Select:
    return select(COUPONS, CAMPAIGNS.c.title, CAMPAIGNS.c.benefit, CAMPAIGNS.c.line_coupon_id).join(
        CAMPAIGNS, CAMPAIGNS.c.code == COUPONS.c.campaign_code
    )


def valid_coupons(connection: Connection, customer_id: int, now: datetime) -> list[Any]:
    """The customer's coupons that can still be used, soonest to expire first."""
    statement = (
        _with_campaign()
        .where(
            COUPONS.c.customer_id == customer_id,
            COUPONS.c.status == CouponStatus.ISSUED,
            COUPONS.c.expires_at > now,
        )
        .order_by(COUPONS.c.expires_at, COUPONS.c.id)
    )
    return list(connection.execute(statement))


def redeem(
    connection: Connection, code: str, via: str, now: datetime, customer_id: int | None = None
) -> Redemption:
    """Use the coupon, once: a used, expired, revoked or unknown code is refused with its reason. With
    `customer_id` (a tap in the chat) only that customer's coupon counts."""
    stored = normalise_code(code)
    if stored is None:
        return Redemption(RedeemOutcome.UNKNOWN)
    mine = [COUPONS.c.code == stored] + ([COUPONS.c.customer_id == customer_id] if customer_id else [])
    changed = connection.execute(
        update(COUPONS)
        .where(*mine, COUPONS.c.status == CouponStatus.ISSUED, COUPONS.c.expires_at > now)
        .values(status=CouponStatus.REDEEMED, redeemed_at=now, redeemed_via=via)
    ).rowcount
    coupon = find(connection, code=stored)
    if coupon is None or (customer_id and coupon.customer_id != customer_id):
        return Redemption(RedeemOutcome.UNKNOWN)
    if not changed:
        return Redemption(_refusal(coupon, now), coupon)
    _mark_benefit_used(connection, coupon, now)
    outbound.record(
        connection,
        current().settings,
        "coupon.redeemed",
        {"coupon_code": coupon.code, "campaign_code": coupon.campaign_code, "redeemed_via": via},
        now,
        coupon.customer_id,
    )
    log.info("coupon=%s redeemed via=%s", coupon.id, via)
    return Redemption(RedeemOutcome.REDEEMED, coupon)


def revoke(connection: Connection, code: str, now: datetime) -> Redemption:
    """Staff withdraw an unused coupon (it no longer counts towards the limit or the cap)."""
    stored = normalise_code(code)
    if stored is None:
        return Redemption(RedeemOutcome.UNKNOWN)
    changed = connection.execute(
        update(COUPONS)
        .where(COUPONS.c.code == stored, COUPONS.c.status == CouponStatus.ISSUED)
        .values(status=CouponStatus.REVOKED)
    ).rowcount
    coupon = find(connection, code=stored)
    if coupon is None:
        return Redemption(RedeemOutcome.UNKNOWN)
    return Redemption(RedeemOutcome.REVOKED_NOW if changed else _refusal(coupon, now), coupon)


def _refusal(coupon: Any, now: datetime) -> RedeemOutcome:
    if coupon.status == CouponStatus.REDEEMED:
        return RedeemOutcome.USED
    if coupon.status == CouponStatus.REVOKED:
        return RedeemOutcome.REVOKED
    return RedeemOutcome.EXPIRED if coupon.expires_at <= now else RedeemOutcome.USED


def _mark_benefit_used(connection: Connection, coupon: Any, now: datetime) -> None:
    """キャンペーン特典利用: the customer's benefit of the coupon's campaign is used (#17's goal)."""
    connection.execute(
        update(BENEFITS)
        .where(BENEFITS.c.customer_id == coupon.customer_id, BENEFITS.c.campaign_code == coupon.campaign_code)
        .values(used=True, used_on=now.astimezone(TOKYO).date(), updated_at=now)
    )


def coupon_fields(coupon: Any, locale: str) -> dict[str, Any]:
    """The merge fields of a coupon message (the `flex: coupon` bubble, or LINE's own coupon)."""
    day = last_day(coupon.expires_at)
    fields: dict[str, Any] = {
        "coupon_title": coupon.title,
        "coupon_benefit": coupon.benefit,
        "coupon_code": display_code(coupon.code),
        "coupon_expires": f"{day.month}月{day.day}日" if locale == "ja" else f"{day:%B} {day.day}",
        "use_coupon_value": coupon.code,
    }
    if coupon.line_coupon_id:
        fields["line_coupon_id"] = coupon.line_coupon_id
    return fields


def remind_expiring(engine: Engine, settings: Settings, now: datetime) -> int:
    """Queue `chat_coupon.expiring` once for each live coupon of a LINE customer that expires within
    COUPON_REMINDER_DAYS_BEFORE days (a campaign shorter than that gets none); returns how many."""
    days = settings.coupon_reminder_days_before
    statement = (
        _with_campaign()
        .join(CHANNELS, CHANNELS.c.customer_id == COUPONS.c.customer_id)
        .where(
            COUPONS.c.status == CouponStatus.ISSUED,
            COUPONS.c.reminded_at.is_(None),
            COUPONS.c.expires_at > now,
            COUPONS.c.expires_at <= now + timedelta(days=days),
            CAMPAIGNS.c.valid_days >= days,
            CHANNELS.c.line_user_id.is_not(None),
        )
        .order_by(COUPONS.c.expires_at, COUPONS.c.id)
        .limit(REMINDER_BATCH)
    )
    queued = 0
    with engine.begin() as connection:
        for coupon in connection.execute(statement).all():
            claimed = connection.execute(
                update(COUPONS)
                .where(COUPONS.c.id == coupon.id, COUPONS.c.reminded_at.is_(None))
                .values(reminded_at=now)
            ).rowcount
            if claimed:
                fields = coupon_fields(
                    coupon, customer_locale(connection, coupon.customer_id, settings.default_locale)
                )
                step, template = f"coupon:{coupon.id}:expiring", "chat_coupon.expiring"
                queue_message(
                    connection, coupon.customer_id, template, step, now, Purpose.MARKETING, **fields
                )
                queued += 1
    if queued:
        log.info("coupon reminders queued=%s", queued)
    return queued
