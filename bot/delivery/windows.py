"""How long LINE honours the two things every send leans on, for both senders (the ledger's send jobs and staff
notices): a reply token, with which an answer goes free of quota while it is fresh, and a retry key, with which
a push LINE had already accepted is answered 409 instead of being delivered twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

REPLY_WINDOW = timedelta(seconds=50)  # LINE honours a reply token for about a minute after the event
RETRY_WINDOW = timedelta(hours=23)  # LINE keeps a retry key for 24 hours: no retry under it after 23


def reply_until(reply_token: str | None, event_at: datetime) -> datetime | None:
    """Until when an answer may use `reply_token`, LINE's token of the event at `event_at`; None without one."""
    return event_at + REPLY_WINDOW if reply_token else None


def fresh_reply_token(row: Any, now: datetime) -> str | None:
    """The reply token `row` (a ledger row or a staff notice) answers with now, or None: it goes by push.

    First attempts only: a retry goes by push, under the row's retry key. Replies cannot carry a retry key, so a
    crash between a reply and its record repeats that answer once, by push."""
    if row.reply_token and row.reply_by and row.attempts == 1 and row.reply_by > now:
        return row.reply_token
    return None


def retry_window_passed(since: datetime, now: datetime) -> bool:
    """Whether a row first tried (or written) at `since` is past the time LINE keeps its retry key."""
    return now - since > RETRY_WINDOW
