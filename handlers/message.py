"""Chat messages from users: text, stickers, media, edits and unsends."""

from __future__ import annotations

from linebot.v3.webhooks import MessageEditedEvent, MessageEvent, UnsendEvent

from bot.context import Ctx
from bot.router import HandlerGroup
from handlers.interaction import note_interaction

group = HandlerGroup("message")


@group.on(MessageEvent, MessageEditedEvent)
def receive_message(event: MessageEvent | MessageEditedEvent, ctx: Ctx) -> None:
    """A message (or an edit) opens LINE's 7-day window for pushes; dialogs answer it in a later release."""
    note_interaction(event, ctx)


@group.on(UnsendEvent)
def receive_unsend(event: UnsendEvent, ctx: Ctx) -> None:
    """The user took a message back; nothing of it is kept beyond the stored event yet."""
    note_interaction(event, ctx)
