"""Whether a LINE user can be reached on LINE: friend-add (友だち追加), block, and last interaction.

Events can arrive out of order (redeliveries), so a status change applies only if it occurred after the
one that set the current status.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from models import FriendStatus, LineUser


def line_user_for_update(session: Session, line_user_id: str, now: datetime) -> LineUser:
    """The user's row, created if new, locked for this transaction (PostgreSQL row lock)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(LineUser)
        .values(line_user_id=line_user_id, friend_status=FriendStatus.UNKNOWN, created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["line_user_id"])
    )
    statement = select(LineUser).where(LineUser.line_user_id == line_user_id).with_for_update()
    return session.execute(statement).scalar_one()


def record_follow(session: Session, line_user_id: str, at: datetime, now: datetime) -> LineUser:
    """Friend-add or unblock: the user is reachable on LINE again."""
    user = line_user_for_update(session, line_user_id, now)
    if _set_status(user, FriendStatus.FOLLOWING, at, now):
        user.followed_at = at
    _touch(user, at, now)
    return user


def record_unfollow(session: Session, line_user_id: str, at: datetime, now: datetime) -> LineUser:
    """Block: LINE no longer delivers to this user, so fallbacks (SMS, email) take over."""
    user = line_user_for_update(session, line_user_id, now)
    if _set_status(user, FriendStatus.BLOCKED, at, now):
        user.blocked_at = at
    return user


def record_interaction(session: Session, line_user_id: str, at: datetime, now: datetime) -> LineUser:
    """The user talked to the account (message, postback, beacon ...): a sign of life on LINE."""
    user = line_user_for_update(session, line_user_id, now)
    _touch(user, at, now)
    return user


def _set_status(user: LineUser, status: FriendStatus, at: datetime, now: datetime) -> bool:
    """Apply a status change that occurred at `at`, unless a newer one is already applied."""
    if user.status_changed_at is not None and at < user.status_changed_at:
        return False
    user.friend_status = status
    user.status_changed_at = at
    user.updated_at = now
    return True


def _touch(user: LineUser, at: datetime, now: datetime) -> None:
    if user.last_interaction_at is None or at > user.last_interaction_at:
        user.last_interaction_at = at
        user.updated_at = now
