"""A broadcast (一斉配信): one message to a segment, sent by staff rather than by a scenario.

Each recipient gets a ledger row (`deliveries.broadcast_id`), unique per (broadcast, customer, channel), so a
broadcast confirmed twice or re-dispatched after a crash reaches nobody twice. Identical content goes to LINE by
multicast in groups of up to 500 (`deliveries.batch_key`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow


class BroadcastStatus(StrEnum):
    DRAFT = "draft"  # counted (dry run), not yet confirmed
    QUEUED = "queued"  # confirmed: ledger rows written, being sent
    DONE = "done"
    CANCELLED = "cancelled"  # stopped: rows not yet sent are failed with reason "cancelled"


class Broadcast(SQLModel, table=True):
    __tablename__ = "broadcasts"
    __table_args__ = (UniqueConstraint("template", "list_sha256", name="uq_broadcasts_notice_list"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(128), nullable=False))
    template: str = Field(sa_column=Column(String(128), nullable=False))
    purpose: str = Field(sa_column=Column(String(16), nullable=False))  # Purpose
    channels: str = Field(
        sa_column=Column(String(64), nullable=False)
    )  # e.g. "first_reachable:line,sms,email"
    status: str = Field(default=BroadcastStatus.DRAFT, sa_column=Column(String(12), nullable=False))
    send_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))  # scheduled (--at)
    # the staff member who prepared it (their LINE user id in the admin chat, as the audit names them); a
    # broadcast above the approval threshold needs someone else to confirm it (`confirmed_by`)
    created_by: str | None = Field(default=None, sa_column=Column(String(64)))
    confirmed_by: str | None = Field(default=None, sa_column=Column(String(64)))
    # the admin chat it was prepared in (a group, or the staff member 1:1): its dry run and progress go there
    prepared_in: str | None = Field(default=None, sa_column=Column(String(64)))
    # the segment ({fact: value}) and the dry run's figures (None while it is being counted)
    filters: dict | None = Field(default=None, sa_column=Column(JSON(none_as_null=True)))
    counts: dict | None = Field(default=None, sa_column=Column(JSON(none_as_null=True)))
    # a service notice sent to a list (bot/notices): the list file's SHA-256, so the same file is one notice
    list_sha256: str | None = Field(default=None, sa_column=Column(String(64)))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
