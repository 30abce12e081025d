"""LINE Beacon: a user's phone came near a store's beacon."""

from __future__ import annotations

from linebot.v3.webhooks import BeaconEvent

from bot.inbound.context import Ctx
from bot.inbound.router import HandlerGroup
from handlers.interaction import note_interaction

group = HandlerGroup("beacon")


@group.on(BeaconEvent)
def receive_beacon(event: BeaconEvent, ctx: Ctx) -> None:
    """A store visit signal; store-visit scenarios use it in a later release."""
    note_interaction(event, ctx)
