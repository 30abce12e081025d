"""Shared by handlers whose only effect in this release is noting that the user is active on LINE."""

from __future__ import annotations

from typing import Any

from bot.chat.reachability import record_interaction
from bot.inbound.context import Ctx


def note_interaction(event: Any, ctx: Ctx) -> None:
    """Record the user's latest sign of life, if the event names a user (group events may not)."""
    source = getattr(event, "source", None)
    user_id = getattr(source, "user_id", None)
    if user_id:
        record_interaction(ctx.session, user_id, ctx.effective_time, ctx.now)
