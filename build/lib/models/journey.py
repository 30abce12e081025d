"""What prospects and customers did, one row per thing: document requests (資料請求), quotes (見積),
store-visit reservations (来店予約) with their visit / cancellation / re-reservation, and web page views.

Each row carries the insurer's own id (資料請求ID, 見積ID, 来店予約ID, webアクセスログID) as its natural key, so
re-importing a file or replaying an API event updates the row instead of adding one.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Date, String, Text
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow
from models.customer import customer_fk


def _natural_key() -> Column:
    return Column(String(64), nullable=False, unique=True)


def _code() -> Column:
    return Column(String(64))


class DocumentRequest(SQLModel, table=True):
    """資料請求."""

    __tablename__ = "document_requests"
    id: int | None = Field(default=None, primary_key=True)
    request_code: str = Field(sa_column=_natural_key())  # 資料請求ID
    customer_id: int = Field(sa_column=customer_fk())
    document_code: str | None = Field(default=None, sa_column=_code())
    requested_on: date | None = Field(default=None, sa_column=Column(Date))
    product_type_code: str | None = Field(default=None, sa_column=_code())
    product_code: str | None = Field(default=None, sa_column=_code())
    contracted: bool | None = None  # 契約フラグ: the requester has since contracted
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class Quote(SQLModel, table=True):
    """見積."""

    __tablename__ = "quotes"
    id: int | None = Field(default=None, primary_key=True)
    quote_code: str = Field(sa_column=_natural_key())  # 見積ID
    customer_id: int = Field(sa_column=customer_fk())
    quoted_on: date | None = Field(default=None, sa_column=Column(Date))
    product_type_code: str | None = Field(default=None, sa_column=_code())
    product_code: str | None = Field(default=None, sa_column=_code())
    contracted: bool | None = None
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class Reservation(SQLModel, table=True):
    """来店予約, with what became of it: visited (来店), cancelled (キャンセル) or re-reserved (再予約)."""

    __tablename__ = "reservations"
    id: int | None = Field(default=None, primary_key=True)
    reservation_code: str = Field(sa_column=_natural_key())  # 来店予約ID
    customer_id: int = Field(sa_column=customer_fk())
    reserved_on: date | None = Field(default=None, sa_column=Column(Date))  # 来店予約日
    visit_on: date | None = Field(default=None, sa_column=Column(Date))  # 来店予定日
    # the time booked, when known (a booking made in the chat); the insurer's F3 file carries the day only
    visit_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    visited: bool | None = None
    visited_on: date | None = Field(default=None, sa_column=Column(Date))
    cancelled: bool | None = None
    cancelled_on: date | None = Field(default=None, sa_column=Column(Date))
    rebooked: bool | None = None
    rebooked_on: date | None = Field(default=None, sa_column=Column(Date))
    store_code: str | None = Field(default=None, sa_column=_code())
    staff_code: str | None = Field(default=None, sa_column=_code())
    consultation: str | None = Field(default=None, sa_column=Column(Text))  # 相談内容
    consultation_trigger: str | None = Field(default=None, sa_column=Column(Text))  # 相談のきっかけ
    product_type_code: str | None = Field(default=None, sa_column=_code())
    product_code: str | None = Field(default=None, sa_column=_code())
    contracted: bool | None = None
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class PageView(SQLModel, table=True):
    """A web page view (webアクセスログ); #10 watches views of the cancellation-procedure page."""

    __tablename__ = "page_views"
    id: int | None = Field(default=None, primary_key=True)
    log_code: str = Field(sa_column=_natural_key())  # webアクセスログID
    customer_id: int = Field(sa_column=customer_fk())
    visitor_id: str | None = Field(default=None, sa_column=Column(String(128)))
    page_title: str | None = Field(default=None, sa_column=Column(Text))
    page_url: str | None = Field(default=None, sa_column=Column(Text))
    viewed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), index=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
