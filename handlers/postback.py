"""Button and quick-reply taps (postbacks) from campaign dialogs."""

from __future__ import annotations

from linebot.v3.webhooks import PostbackEvent

from bot.context import Ctx
from bot.router import HandlerGroup
from handlers.interaction import note_interaction

group = HandlerGroup("postback")


@group.on(PostbackEvent)
def receive_postback(event: PostbackEvent, ctx: Ctx) -> None:
    """A tap continues a dialog (later release); for now it marks the user as active."""
    note_interaction(event, ctx)
