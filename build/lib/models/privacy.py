"""Requests under APPI made from the admin chat: disclosure (開示) and erasure (利用停止・消去) of one customer's data.

A staff member asks, an approver other than them approves, and only then does anything run. A disclosure is
collected by the approved staff with a one-time code on the download page (stored as SHA-256 only): the chat
never carries the customer's data. The rows name the customer by internal id and staff by their LINE user id.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime
from models.customer import customer_fk


class PrivacyKind(StrEnum):
    EXPORT = "export"  # 開示
    ERASE = "erase"  # 消去


class PrivacyStatus(StrEnum):
    PENDING = "pending"  # waiting for an approver
    APPROVED = "approved"  # an export whose download code is out
    DONE = "done"  # erased, or the export downloaded
    REJECTED = "rejected"
    EXPIRED = "expired"  # not approved in time, or the code not used in time


class PrivacyRequest(SQLModel, table=True):
    __tablename__ = "privacy_requests"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(sa_column=Column(String(8), nullable=False))  # PrivacyKind
    customer_id: int = Field(sa_column=customer_fk())
    requested_by: str = Field(sa_column=Column(String(64), nullable=False))  # staff LINE user id
    requested_in: str = Field(sa_column=Column(String(64), nullable=False))  # where answers go
    status: str = Field(default=PrivacyStatus.PENDING, sa_column=Column(String(12), nullable=False))
    decided_by: str | None = Field(default=None, sa_column=Column(String(64)))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))  # approve before this
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # an approved export: the one-time download code's SHA-256, until when it works, wrong tries so far
    code_hash: str | None = Field(default=None, sa_column=Column(String(64)))
    code_expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    code_tries: int = 0
    downloaded_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
