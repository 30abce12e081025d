"""Account link (ID連携) results from LINE: `ok` completes the link the customer started in the chat (the nonce
our login page gave them comes back); `failed` (LINE could not verify the user) has no source and no reply
token, so it is only recorded."""

from __future__ import annotations

import logging

from linebot.v3.webhooks import AccountLinkEvent

from bot.chat.answers import Turn, ensure_customer
from bot.inbound.context import Ctx
from bot.inbound.router import HandlerGroup
from handlers.dialogs.account_link import complete_link
from handlers.interaction import note_interaction

log = logging.getLogger(__name__)
group = HandlerGroup("account_link")


@group.on(AccountLinkEvent)
def receive_account_link(event: AccountLinkEvent, ctx: Ctx) -> None:
    """Bind the LINE user to the customer who logged in, or refuse a nonce that is unknown, used or expired."""
    note_interaction(event, ctx)
    link = getattr(event, "link", None)
    user_id = getattr(event.source, "user_id", None) if event.source is not None else None
    if getattr(link, "result", None) != "ok" or not user_id:
        log.info("event row=%s account link failed at LINE", ctx.event_row_id)
        return
    if getattr(event.source, "type", "user") != "user":
        return
    customer_id = ensure_customer(ctx.session.connection(), user_id, ctx.effective_time, ctx.evidence)
    turn = Turn(user_id, customer_id, getattr(event, "reply_token", None))
    complete_link(turn, ctx, str(getattr(link, "nonce", "") or ""))
