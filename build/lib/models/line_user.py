"""A LINE user of the insurer's official account (LINE友だち) and whether the service can reach them on LINE."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow


class FriendStatus(StrEnum):
    FOLLOWING = "following"  # friend-added (友だち追加) and not blocked
    BLOCKED = "blocked"  # unfollowed / blocked: not reachable on LINE, fallbacks take over
    UNKNOWN = "unknown"  # seen (e.g. a message) before any follow event


class LineUser(SQLModel, table=True):
    """Reachability on LINE, updated from follow/unfollow events in the order they occurred."""

    __tablename__ = "line_users"

    id: int | None = Field(default=None, primary_key=True)
    line_user_id: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    friend_status: FriendStatus = Field(
        default=FriendStatus.UNKNOWN, sa_column=Column(String(16), nullable=False)
    )
    followed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    blocked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # When the event that set `friend_status` occurred; an older event arriving late cannot undo a newer one.
    status_changed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    last_interaction_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
