"""Friend-add (follow) and block (unfollow): keep the user's LINE reachability current."""

from __future__ import annotations

from linebot.v3.webhooks import FollowEvent, UnfollowEvent

from bot.context import Ctx
from bot.reachability import record_follow, record_unfollow
from bot.router import HandlerGroup

group = HandlerGroup("follow")


@group.on(FollowEvent)
def mark_friend(event: FollowEvent, ctx: Ctx) -> None:
    """A new friend or an unblock: the user is reachable on LINE (scenario #22's goal)."""
    user_id = getattr(event.source, "user_id", None)
    if user_id:
        record_follow(ctx.session, user_id, ctx.effective_time, ctx.now)


@group.on(UnfollowEvent)
def mark_blocked(event: UnfollowEvent, ctx: Ctx) -> None:
    """A block: LINE stops delivering, so SMS and email take over."""
    user_id = getattr(event.source, "user_id", None)
    if user_id:
        record_unfollow(ctx.session, user_id, ctx.effective_time, ctx.now)
