"""Events nobody else handles: new LINE event types, module/membership events, payloads the SDK cannot model."""

from __future__ import annotations

import logging

from bot.inbound.context import Ctx

log = logging.getLogger(__name__)


def acknowledge_unhandled(event: object, ctx: Ctx) -> None:
    """Keep the stored event and move on: LINE adds event types without notice."""
    log.info("no handler for event type=%s row=%s", getattr(event, "type", "?"), ctx.event_row_id)
