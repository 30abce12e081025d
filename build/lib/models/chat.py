"""The LINE chat's own records: dialog state (対話の状態), account-link nonces (ID連携), coupons (クーポン),
service-desk requests (各種お手続き・お問い合わせ) and referrals (友だち紹介).

Dialog state lives here, not in memory, so that a dialog survives a restart and any worker can take the next
message. Nonces are stored hashed: the table never holds a value that could complete a link.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Integer, String, Text, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow
from models.customer import customer_fk


class Dialog(SQLModel, table=True):
    """The dialog a LINE user is in: its name, the step waiting for their answer, what was collected so far."""

    __tablename__ = "dialogs"

    line_user_id: str = Field(sa_column=Column(String(64), primary_key=True))
    name: str = Field(sa_column=Column(String(32), nullable=False))
    step: str = Field(sa_column=Column(String(32), nullable=False))
    data: dict | None = Field(default=None, sa_column=Column(JSON))
    started_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))  # idle time-out


class LinkNonce(SQLModel, table=True):
    """A single-use nonce of the account-link flow, bound to the customer who logged in (SHA-256 only)."""

    __tablename__ = "link_nonces"

    nonce_hash: str = Field(sa_column=Column(String(64), primary_key=True))
    customer_id: int = Field(sa_column=customer_fk())
    # the LINE user whose link token the login used: only that user's accountLink event may bind
    line_user_id: str | None = Field(default=None, sa_column=Column(String(64)))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class CouponCampaign(SQLModel, table=True):
    """A coupon offer: what it gives, how long each coupon is valid, how many a customer and all may get."""

    __tablename__ = "coupon_campaigns"

    code: str = Field(sa_column=Column(String(64), primary_key=True))
    title: str = Field(sa_column=Column(String(60), nullable=False))  # LINE's coupon title limit
    benefit: str = Field(sa_column=Column(Text, nullable=False))  # e.g. "ギフト券1,000円分"
    valid_days: int = 7
    per_customer_limit: int = 1
    total_cap: int | None = None  # None: no cap
    line_coupon_id: str | None = Field(default=None, sa_column=Column(String(64)))  # LINE's coupon API
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class CouponStatus(StrEnum):
    ISSUED = "issued"
    REDEEMED = "redeemed"
    REVOKED = "revoked"


class Coupon(SQLModel, table=True):
    """One coupon issued to one customer; `seq` counts a customer's coupons of one campaign (1 … limit)."""

    __tablename__ = "coupons"
    __table_args__ = (UniqueConstraint("campaign_code", "customer_id", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_code: str = Field(
        sa_column=Column(String(64), ForeignKey("coupon_campaigns.code"), nullable=False, index=True)
    )
    customer_id: int = Field(sa_column=customer_fk())
    seq: int = 1
    code: str = Field(sa_column=Column(String(16), nullable=False, unique=True))  # shown at the counter
    status: str = Field(default=CouponStatus.ISSUED, sa_column=Column(String(12), nullable=False))
    issued_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    redeemed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    redeemed_via: str | None = Field(default=None, sa_column=Column(String(16)))  # chat, staff, api
    reminded_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class RequestStatus(StrEnum):
    RECEIVED = "received"  # 受付済み
    IN_PROGRESS = "in_progress"  # 対応中
    CLOSED = "closed"  # 完了


class ServiceRequest(SQLModel, table=True):
    """A service-desk request taken in the chat: address change, accident notice, reissue, complaint …"""

    __tablename__ = "service_requests"

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(sa_column=Column(String(16), nullable=False, unique=True))  # 受付番号
    customer_id: int = Field(sa_column=customer_fk())
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    details: dict | None = Field(default=None, sa_column=Column(JSON))  # what staff need, as collected
    # the customer proved who they are (ID連携) when filing: staff check identity themselves otherwise
    verified: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    status: str = Field(default=RequestStatus.RECEIVED, sa_column=Column(String(12), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    closed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class ReferralCode(SQLModel, table=True):
    """A customer's own referral code (紹介コード), shared with friends (#19)."""

    __tablename__ = "referral_codes"

    customer_id: int = Field(
        sa_column=Column(Integer, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    )
    code: str = Field(sa_column=Column(String(16), nullable=False, unique=True))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Referral(SQLModel, table=True):
    """A friend who came with a referral code: each friend credits one referrer, once."""

    __tablename__ = "referrals"

    id: int | None = Field(default=None, primary_key=True)
    referrer_id: int = Field(sa_column=customer_fk())
    referee_id: int = Field(
        sa_column=Column(Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, unique=True)
    )
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    credited_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
