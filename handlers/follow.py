"""Friend-add (follow) and block (unfollow): keep the user's LINE reachability current."""

from __future__ import annotations

from datetime import datetime

from linebot.v3.webhooks import FollowEvent, UnfollowEvent
from sqlalchemy import Connection, insert, update

from bot.chat.answers import Turn, adopt_profile_language, ensure_customer
from bot.chat.reachability import record_follow, record_unfollow
from bot.delivery.consent import BLOCKED_SOURCE, customers_on_line, opt_out, restore_after_block
from bot.inbound.context import Ctx
from bot.inbound.router import HandlerGroup
from bot.scenarios.journeys import start_journeys
from flows.dsl import Channel, Event
from handlers.dialogs.menu import greet
from models import CustomerActivity, FriendStatus, LineUser

ACTIVITY = CustomerActivity.__table__

group = HandlerGroup("follow")


@group.on(FollowEvent)
def mark_friend(event: FollowEvent, ctx: Ctx) -> None:
    """A new friend or an unblock: the user is reachable on LINE (scenario #22's goal), a prospect record
    for a user we do not know, the journeys a friend-add starts (the welcome series), and a greeting."""
    user_id = getattr(event.source, "user_id", None)
    if not user_id:
        return
    user = record_follow(ctx.session, user_id, ctx.effective_time, ctx.now)
    if not _applied(user, FriendStatus.FOLLOWING, ctx):
        return  # a late redelivery of an older follow: the friend was greeted then
    connection = ctx.session.connection()
    for customer_id in customers_on_line(connection, user_id):
        restore_after_block(connection, customer_id, ctx.effective_time, ctx.evidence)
    customer_id = ensure_customer(connection, user_id, ctx.effective_time, ctx.evidence)
    adopt_profile_language(ctx, customer_id, user_id)  # the greeting in the language their LINE app is set to
    mark_line_friend(connection, customers_on_line(connection, user_id), ctx.now)
    start_journeys(connection, ctx.settings, Event.FRIEND_ADDED, customer_id, ctx.effective_time)  # #24
    unblocked = bool(getattr(getattr(event, "follow", None), "is_unblocked", False))
    greet(Turn(user_id, customer_id, event.reply_token), ctx, returning=unblocked)


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
            opt_out(connection, customer_id, Channel.LINE, BLOCKED_SOURCE, ctx.effective_time, ctx.evidence)


def mark_line_friend(connection: Connection, customer_ids: list[int], now: datetime) -> None:
    """LINEID 利用フラグ (友だち登録): #22's goal, so its enrollments end at the next wake-up."""
    for customer_id in customer_ids:
        changed = connection.execute(
            update(ACTIVITY)
            .where(ACTIVITY.c.customer_id == customer_id)
            .values(line_friend=True, updated_at=now)
        ).rowcount
        if not changed:
            connection.execute(
                insert(ACTIVITY).values(customer_id=customer_id, line_friend=True, updated_at=now)
            )


def _applied(user: LineUser, status: FriendStatus, ctx: Ctx) -> bool:
    """Whether this event set the status (a late redelivery of an older event changes nothing)."""
    return user.friend_status == status and user.status_changed_at == ctx.effective_time
