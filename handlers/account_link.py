"""Account link (ID連携) results from LINE."""

from __future__ import annotations

from linebot.v3.webhooks import AccountLinkEvent

from bot.context import Ctx
from bot.router import HandlerGroup
from handlers.interaction import note_interaction

group = HandlerGroup("account_link")


@group.on(AccountLinkEvent)
def receive_account_link(event: AccountLinkEvent, ctx: Ctx) -> None:
    """Binding the LINE user to a customer needs the nonce store (a later release); a failed link has no source."""
    note_interaction(event, ctx)
