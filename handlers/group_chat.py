"""The bot joining or leaving group chats, and members coming and going there."""

from __future__ import annotations

from linebot.v3.webhooks import JoinEvent, LeaveEvent, MemberJoinedEvent, MemberLeftEvent

from bot.inbound.context import Ctx
from bot.inbound.router import HandlerGroup

group = HandlerGroup("group_chat")


@group.on(JoinEvent, LeaveEvent, MemberJoinedEvent, MemberLeftEvent)
def acknowledge_group_change(event: object, ctx: Ctx) -> None:
    """The insurer's account talks one-to-one; group membership changes no customer record."""
