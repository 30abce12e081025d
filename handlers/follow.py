"""Friend-add (follow) and block (unfollow): keep the user's LINE reachability current."""

from __future__ import annotations

from linebot.v3.webhooks import FollowEvent, UnfollowEvent

from bot.consent import BLOCKED_SOURCE, customers_on_line, opt_out, restore_after_block
from bot.context import Ctx
from bot.reachability import record_follow, record_unfollow
from bot.router import HandlerGroup
from flows.dsl import Channel
from models import FriendStatus, LineUser

group = HandlerGroup("follow")


@group.on(FollowEvent)
def mark_friend(event: FollowEvent, ctx: Ctx) -> None:
    """A new friend or an unblock: the user is reachable on LINE (scenario #22's goal)."""
    user_id = getattr(event.source, "user_id", None)
    if not user_id:
        return
    user = record_follow(ctx.session, user_id, ctx.effective_time, ctx.now)
    if _applied(user, FriendStatus.FOLLOWING, ctx):
        connection = ctx.session.connection()
        for customer_id in customers_on_line(connection, user_id):
            restore_after_block(connection, customer_id, ctx.effective_time)


@group.on(UnfollowEvent)
def mark_blocked(event: UnfollowEvent, ctx: Ctx) -> None:
    """A block: LINE stops delivering, so SMS and email take over; the consent history records the withdrawal."""
    user_id = getattr(event.source, "user_id", None)
    if not user_id:
        return
    user = record_unfollow(ctx.session, user_id, ctx.effective_time, ctx.now)
    if _applied(user, FriendStatus.BLOCKED, ctx):
        connection = ctx.session.connection()
        for customer_id in customers_on_line(connection, user_id):
            opt_out(connection, customer_id, Channel.LINE, BLOCKED_SOURCE, ctx.effective_time)


def _applied(user: LineUser, status: FriendStatus, ctx: Ctx) -> bool:
    """Whether this event set the status (a late redelivery of an older event changes nothing)."""
    return user.friend_status == status and user.status_changed_at == ctx.effective_time
