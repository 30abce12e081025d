"""Chat messages from users: text goes to the dialogs; stickers and media get the menu; edits and unsends are
noted only."""

from __future__ import annotations

import logging

from linebot.v3.webhooks import (
    FileMessageContent,
    ImageMessageContent,
    MessageEditedEvent,
    MessageEvent,
    TextMessageContent,
    UnsendEvent,
    VideoMessageContent,
)

from bot.chat.answers import Media, Turn, answer, ensure_customer
from bot.inbound.context import Ctx
from bot.inbound.router import HandlerGroup
from bot.platform.characters import forbidden_character
from handlers.admin import handle_text
from handlers.conversation import converse
from handlers.interaction import note_interaction

log = logging.getLogger(__name__)
group = HandlerGroup("message")


@group.on(MessageEvent)
def receive_message(event: MessageEvent, ctx: Ctx) -> None:
    """A slash command from staff goes to the admin chat; otherwise a text, a photo, a video or a file goes to the
    dialogs and anything else (a sticker, a voice message) gets the menu. Group chats get no customer dialog."""
    note_interaction(event, ctx)
    content = event.message
    text = content.text if isinstance(content, TextMessageContent) else None
    # The one place chat text comes in: text with a control character goes no further (not into customer data,
    # requests or the admin audit); the customer is asked to type it again, the open dialog left as it was.
    refused = forbidden_character(text) if text is not None else None
    if refused is None and text is not None and handle_text(event, ctx, text):
        return  # a staff command (or someone else's slash command in a group: silence)
    user_id = getattr(event.source, "user_id", None)
    if not user_id or getattr(event.source, "type", "user") != "user":
        return
    customer_id = ensure_customer(ctx.session.connection(), user_id, ctx.effective_time, ctx.evidence)
    if refused is not None:
        log.info("message: customer=%s text refused, it holds %s", customer_id, refused)
        answer(ctx, Turn(user_id, customer_id, event.reply_token), "chat.retype")
        return
    turn = Turn(
        user_id,
        customer_id,
        event.reply_token,
        text=text,
        media=media_of(content),
        message_id=getattr(content, "id", None),
        message_type=getattr(content, "type", None),
        read_token=getattr(content, "mark_as_read_token", None),
    )
    converse(turn, ctx)  # a photo, a sticker too: kept for staff during a hand-over, else answered there


def media_of(content: object) -> Media | None:
    """A photo, video or file LINE keeps for the bot to fetch (one hosted elsewhere, `external`, is not LINE's to
    give, and is treated as a sticker is)."""
    provider = getattr(getattr(content, "content_provider", None), "type", "line")
    if isinstance(content, FileMessageContent):
        return Media(content.id, "file", file_name=content.file_name, size=content.file_size)
    if provider != "line":
        return None
    if isinstance(content, ImageMessageContent):
        image_set = content.image_set
        last = image_set is None or not image_set.total or image_set.index in (None, image_set.total)
        return Media(content.id, "image", last_of_set=last)
    if isinstance(content, VideoMessageContent):
        return Media(content.id, "video")
    return None


@group.on(MessageEditedEvent)
def receive_edit(event: MessageEditedEvent, ctx: Ctx) -> None:
    """An edited message opens LINE's window for pushes like a new one; the dialogs read only new messages."""
    note_interaction(event, ctx)


@group.on(UnsendEvent)
def receive_unsend(event: UnsendEvent, ctx: Ctx) -> None:
    """The user took a message back; nothing of it is kept beyond the stored event yet."""
    note_interaction(event, ctx)
