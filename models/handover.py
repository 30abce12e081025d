"""Hand-overs to a person (担当者への引き継ぎ): a conversation a customer asked to have with staff, or that the bot
offered to hand over (a complaint, an accident, payment trouble, a wish to cancel), with its 受付番号 and every
message of it, so that staff see the whole history.

While a hand-over is open (waiting for staff) or held (a staff member has it), the bot answers no free text and
marketing to the customer waits; released or closed, the bot talks again.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Text
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow
from models.customer import customer_fk


class HandoverStatus(StrEnum):
    OPEN = "open"  # the customer waits for staff; the bot is already silent
    HELD = "held"  # a staff member has the conversation
    RELEASED = "released"  # staff gave it back to the bot
    CLOSED = "closed"  # finished in the inbox


ACTIVE_HANDOVER = (HandoverStatus.OPEN, HandoverStatus.HELD)  # the bot is silent, marketing waits


class Handover(SQLModel, table=True):
    """One conversation handed to a person: who, its 受付番号, why, who has it, and when each thing happened."""

    __tablename__ = "handovers"
    __table_args__ = (Index("ix_handovers_status", "status", "customer_id"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(sa_column=customer_fk())
    reference: str = Field(sa_column=Column(String(16), nullable=False, unique=True))  # 受付番号 H261207-7KQM
    reason: str = Field(sa_column=Column(String(32), nullable=False))  # asked, complaint, accident …
    status: str = Field(default=HandoverStatus.OPEN, sa_column=Column(String(12), nullable=False))
    store_code: str | None = Field(default=None, sa_column=Column(String(32)))  # whose staff were told
    staff: str | None = Field(default=None, sa_column=Column(String(64)))  # the staff member who has it
    opened_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    held_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    released_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    closed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class HandoverMessage(SQLModel, table=True):
    """One message of a hand-over: the customer's (a text, or a photo … by LINE's message id and type: the
    attachments store keeps the content), the bot's or a staff member's (by its delivery ledger row)."""

    __tablename__ = "handover_messages"

    id: int | None = Field(default=None, primary_key=True)
    handover_id: int = Field(
        sa_column=Column(Integer, ForeignKey("handovers.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    customer_id: int = Field(sa_column=customer_fk())
    author: str = Field(sa_column=Column(String(12), nullable=False))  # customer, bot, staff
    message_type: str = Field(sa_column=Column(String(16), nullable=False))  # text, image, video, file …
    line_message_id: str | None = Field(default=None, sa_column=Column(String(32)))
    text: str | None = Field(default=None, sa_column=Column(Text))
    delivery_id: int | None = Field(default=None, sa_column=Column(Integer))  # a bot's or staff's message
    staff: str | None = Field(default=None, sa_column=Column(String(64)))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class StaffRole(StrEnum):
    AGENT = "agent"  # answers and releases hand-overs in the inbox
    SUPERVISOR = "supervisor"  # also closes them


class StaffAccount(SQLModel, table=True):
    """A staff member's own login to the inbox (/inbox): a login name, a password hash (werkzeug's scrypt or
    pbkdf2, never the password), a role. Created with `flask staff add`."""

    __tablename__ = "staff_accounts"

    id: int | None = Field(default=None, primary_key=True)
    login: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    display_name: str = Field(sa_column=Column(String(64), nullable=False))
    password_hash: str = Field(sa_column=Column(String(255), nullable=False))
    role: str = Field(default=StaffRole.AGENT, sa_column=Column(String(16), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    disabled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
