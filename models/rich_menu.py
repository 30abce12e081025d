"""The rich menus LINE holds for this channel, one per customer state and language (bot/chat/richmenus.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow


class RichMenu(SQLModel, table=True):
    """A menu created by `flask richmenu sync`: its LINE id, and the digest of the definition and image it was
    made from (a sync creates a new one only when that changes)."""

    __tablename__ = "rich_menus"

    state: str = Field(sa_column=Column(String(32), primary_key=True))
    locale: str = Field(sa_column=Column(String(8), primary_key=True))
    rich_menu_id: str = Field(sa_column=Column(String(64), nullable=False))
    digest: str = Field(sa_column=Column(String(64), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
