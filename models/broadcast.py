"""A broadcast (一斉配信): one message to a segment, sent by staff rather than by a scenario.

Each recipient gets a ledger row (`deliveries.broadcast_id`), unique per (broadcast, customer, channel), so a
broadcast confirmed twice or re-dispatched after a crash reaches nobody twice. Identical content goes to LINE by
multicast in groups of up to 500 (`deliveries.batch_key`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow


class BroadcastStatus(StrEnum):
    DRAFT = "draft"  # counted (dry run), not yet confirmed
    QUEUED = "queued"  # confirmed: ledger rows written, being sent
    DONE = "done"
    CANCELLED = "cancelled"  # stopped: rows not yet sent are failed with reason "cancelled"


class Broadcast(SQLModel, table=True):
    __tablename__ = "broadcasts"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(128), nullable=False))
    template: str = Field(sa_column=Column(String(128), nullable=False))
    purpose: str = Field(sa_column=Column(String(16), nullable=False))  # Purpose
    channels: str = Field(
        sa_column=Column(String(64), nullable=False)
    )  # e.g. "first_reachable:line,sms,email"
    status: str = Field(default=BroadcastStatus.DRAFT, sa_column=Column(String(12), nullable=False))
    send_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))  # scheduled (--at)
    created_by: str | None = Field(
        default=None, sa_column=Column(String(64))
    )  # staff id, never a LINE user id
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
