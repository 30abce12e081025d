"""A person the insurer talks to (顧客): prospects without a customer ID (資料請求者, 見積者) and policyholders alike.

Reachability lives in `CustomerChannels` (one row per customer); what the person did lives in the activity
tables. Day counts (経過日数, 残日数) are never stored: they are derived from dates in Asia/Tokyo when used.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Column, Date, ForeignKey, Integer, String
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow


class Gender(StrEnum):
    MALE = "male"  # 男性
    FEMALE = "female"  # 女性
    OTHER = "other"  # その他 / 回答しない


class Customer(SQLModel, table=True):
    """顧客. `customer_code` is the insurer's 顧客ID (absent for prospects known only by contact details)."""

    __tablename__ = "customers"

    id: int | None = Field(default=None, primary_key=True)
    customer_code: str | None = Field(default=None, sa_column=Column(String(64), unique=True))
    visitor_id: str | None = Field(default=None, sa_column=Column(String(128), index=True))  # ビジターID
    family_name: str | None = Field(default=None, sa_column=Column(String(64)))  # 姓
    given_name: str | None = Field(default=None, sa_column=Column(String(64)))  # 名
    gender: str | None = Field(default=None, sa_column=Column(String(8)))  # Gender
    age_band: str | None = Field(default=None, sa_column=Column(String(16)))  # 年代, e.g. "30代"
    prefecture: str | None = Field(default=None, sa_column=Column(String(8)))  # 都道府県
    # the language the bot speaks to them in ("ja", "en"); None until LINE's profile or the customer names one
    language: str | None = Field(default=None, sa_column=Column(String(8)))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    # APPI erasure (消去): set once the person's data is gone. The row stays as an anonymous tombstone so that
    # foreign keys and the dashboard's counts hold; its channel flags are the state at erasure (bot/privacy).
    erased_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


def customer_fk(nullable: bool = False) -> Column:
    """A `customer_id` column referencing customers (deleted with the customer)."""
    return Column(Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=nullable, index=True)


class CustomerChannels(SQLModel, table=True):
    """Where and whether the customer may be reached: the channel block of every data file (columns 2–10).

    The permission flags are the insurer's marketing consents (メルマガ許可, LINE配信許可, SMS配信許可, アプリpush配信).
    Flags are None while unknown (a blank cell); an unknown permission is treated as not granted.
    """

    __tablename__ = "customer_channels"

    customer_id: int = Field(
        sa_column=Column(Integer, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    )
    email_main: str | None = Field(default=None, sa_column=Column(String(254), index=True))
    email_sub: str | None = Field(default=None, sa_column=Column(String(254)))
    email_permitted: bool | None = None
    line_user_id: str | None = Field(default=None, sa_column=Column(String(64), unique=True))
    line_permitted: bool | None = None
    line_linked: bool | None = None  # LINE ID連携 (account link) done
    # when the link was made (the account-link event's moment); None for a link only the insurer's files report
    line_linked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    sms_phone: str | None = Field(default=None, sa_column=Column(String(20), index=True))  # E.164
    sms_permitted: bool | None = None
    fcm_token: str | None = Field(default=None, sa_column=Column(String(4096)))
    push_permitted: bool | None = None
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class CustomerActivity(SQLModel, table=True):
    """Customer-level journey facts of 基本シナリオ配信用データ (F5) and app use: what, and since when."""

    __tablename__ = "customer_activity"

    customer_id: int = Field(
        sa_column=Column(Integer, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    )
    document_requested: bool | None = None  # 資料請求フラグ
    first_document_request_on: date | None = Field(default=None, sa_column=Column(Date))
    quoted: bool | None = None  # 見積フラグ
    first_quote_on: date | None = Field(default=None, sa_column=Column(Date))
    visited: bool | None = None  # 来店フラグ
    first_visit_on: date | None = Field(default=None, sa_column=Column(Date))
    email_acquired: bool | None = None  # メールアドレス取得フラグ
    line_friend: bool | None = None  # LINEID 利用フラグ (友だち登録) as the insurer reports it
    app_user: bool | None = None  # スマホアプリ利用フラグ
    app_last_login_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
