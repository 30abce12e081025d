"""Notices to the insurer's staff (担当者への通知): a service-desk request taken in the chat, a customer asking for
a person. Staff are not customers, so their notices have a small ledger of their own: one row per notice and
staff target (a LINE user or group of the service desk), written with the request, then sent once.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, Index, String, text
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow
from models.customer import customer_fk


class NoticeStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    UNADDRESSED = "unaddressed"  # no staff target configured: recorded (and listed by the CLI), not sent


class StaffNotice(SQLModel, table=True):
    """One notice to one staff target; `template` and `fields` render it (the customer named by id only)."""

    __tablename__ = "staff_notices"
    __table_args__ = (
        Index("ix_staff_notices_status", "status", "id"),
        # the retention job clears the fields of old notices (bot/privacy/retention.py)
        Index(
            "ix_staff_notices_fields_kept",
            "created_at",
            postgresql_where=text("fields IS NOT NULL"),
            sqlite_where=text("fields IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(sa_column=Column(String(32), nullable=False))  # a request kind, or "handoff"
    # the customer it is about: deleting a customer deletes their notices (they hold what the customer wrote)
    customer_id: int | None = Field(
        default=None, sa_column=customer_fk(nullable=True)
    )  # None: an admin reply
    target: str | None = Field(default=None, sa_column=Column(String(64)))  # LINE user / group id
    template: str = Field(sa_column=Column(String(128), nullable=False))
    fields: dict | None = Field(default=None, sa_column=Column(JSON))
    status: str = Field(default=NoticeStatus.QUEUED, sa_column=Column(String(12), nullable=False))
    attempts: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    error: str | None = Field(default=None, sa_column=Column(String(512)))
    # an answer to a staff command in the admin chat: LINE's reply token, used while fresh, then a push
    reply_token: str | None = Field(default=None, sa_column=Column(String(64)))
    reply_by: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class AdminAudit(SQLModel, table=True):
    """Every staff command, run or refused: who, where, what, with which arguments, and what came of it.
    Append-only: nothing in the service updates or deletes a row (PostgreSQL refuses it with a trigger)."""

    __tablename__ = "admin_audit"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    actor: str = Field(sa_column=Column(String(64), nullable=False))  # the staff member's LINE user id
    place: str = Field(sa_column=Column(String(64), nullable=False))  # a group id, or "1:1"
    command: str = Field(sa_column=Column(String(32), nullable=False))
    arguments: str | None = Field(default=None, sa_column=Column(String(500)))
    result: str = Field(sa_column=Column(String(16), nullable=False))  # done, refused, usage, queued, error
    detail: str | None = Field(default=None, sa_column=Column(String(500)))
    personal_data: bool = False  # a look-up that showed a customer's data (APPI access log)
