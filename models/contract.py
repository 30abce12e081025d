"""Contracts (契約) as the insurer reports them per customer, campaign benefits (キャンペーン特典), LINE membership,
and the history of consents and opt-outs.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from flows.dsl import Purpose
from models.base import UTCDateTime, utcnow
from models.customer import customer_fk


class ContractSummary(SQLModel, table=True):
    """The customer's contract position (F5): status, dates, renewals, payments, current and cancelled products."""

    __tablename__ = "contract_summaries"
    customer_id: int = Field(
        sa_column=Column(Integer, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    )
    contracted: bool | None = None  # 契約フラグ
    status: str | None = Field(default=None, sa_column=Column(String(32)))  # 契約ステータス
    life: bool | None = None  # 生命保険契約フラグ
    non_life: bool | None = None  # 損害保険契約フラグ
    first_start_on: date | None = Field(default=None, sa_column=Column(Date))  # 初回契約開始日
    end_on: date | None = Field(default=None, sa_column=Column(Date))  # 契約終了日
    next_renewal_on: date | None = Field(default=None, sa_column=Column(Date, index=True))  # 次回契約更新日
    last_renewal_on: date | None = Field(default=None, sa_column=Column(Date))  # 前回契約更新日
    renewal_count: int | None = None  # 累計更新回数
    total_paid: int | None = None  # 累計支払金額 (yen)
    current_product_type_code: str | None = Field(default=None, sa_column=Column(String(64)))
    current_product_code: str | None = Field(default=None, sa_column=Column(String(64)))
    cancelled_product_type_code: str | None = Field(default=None, sa_column=Column(String(64)))
    cancelled_product_code: str | None = Field(default=None, sa_column=Column(String(64)))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class CampaignBenefit(SQLModel, table=True):
    """A campaign benefit granted to a customer (付与) and whether it was used (利用)."""

    __tablename__ = "campaign_benefits"
    __table_args__ = (UniqueConstraint("customer_id", "campaign_code"),)
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(sa_column=customer_fk())
    campaign_code: str = Field(sa_column=Column(String(64), nullable=False))
    granted: bool | None = None
    granted_on: date | None = Field(default=None, sa_column=Column(Date))
    used: bool | None = None
    used_on: date | None = Field(default=None, sa_column=Column(Date))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class LineMembership(SQLModel, table=True):
    """LINE会員 (F7): a LINE account registered with the insurer, linked (ID連携) to a customer or not yet."""

    __tablename__ = "line_memberships"
    line_user_id: str = Field(sa_column=Column(String(64), primary_key=True))
    customer_id: int = Field(sa_column=customer_fk())
    registered_on: date | None = Field(default=None, sa_column=Column(Date))  # LINE会員登録日
    linked: bool | None = None  # LINE ID連携フラグ
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class ConsentEvent(SQLModel, table=True):
    """One change of a customer's permission on a channel, with where it came from (an import, the API, a chat)."""

    __tablename__ = "consent_events"
    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(sa_column=customer_fk())
    channel: str = Field(sa_column=Column(String(8), nullable=False))  # Channel
    purpose: str = Field(default=Purpose.MARKETING, sa_column=Column(String(16), nullable=False))
    granted: bool
    occurred_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    source: str = Field(
        sa_column=Column(String(64), nullable=False)
    )  # e.g. "import:F5", "api", "unsubscribe"
    # Evidence of the change (特定電子メール法 asks a sender to keep records of consent): the imported file's name,
    # SHA-256 and line (the header is line 1); for an API request its body's SHA-256 and the event's position in
    # it; and the reference of what carried it ("webhook:<webhookEventId>", "delivery:<ledger id>", "api:…").
    evidence_file: str | None = Field(default=None, sa_column=Column(String(255)))
    evidence_sha256: str | None = Field(default=None, sa_column=Column(String(64)))
    evidence_line: int | None = Field(default=None, sa_column=Column(Integer))
    evidence_ref: str | None = Field(default=None, sa_column=Column(String(300)))
