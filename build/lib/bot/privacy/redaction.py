"""What is left of a stored LINE webhook event once its text is gone (retention) or its sender erased: an allow
list of the fields that say what happened and when, never who or what they wrote (text, location, file names,
postback data, mentions and member lists are all dropped)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from models import WebhookEvent

EVENTS = WebhookEvent.__table__

KEPT = ("type", "mode", "timestamp", "webhookEventId", "deliveryContext")
KEPT_INSIDE = {"source": ("type",), "message": ("type",), "follow": ("isUnblocked",), "link": ("result",)}


def skeleton(payload: str) -> str:
    """The event's JSON reduced to the allow list, marked `"redacted": true`."""
    try:
        event = json.loads(payload)
    except ValueError:
        event = None
    if not isinstance(event, dict):
        return json.dumps({"redacted": True})
    kept: dict[str, Any] = {key: event[key] for key in KEPT if key in event}
    for part, keys in KEPT_INSIDE.items():
        inner = event.get(part)
        if isinstance(inner, dict):
            kept[part] = {key: inner[key] for key in keys if key in inner}
    kept["redacted"] = True
    return json.dumps(kept, ensure_ascii=False)


def redact_event(connection: Connection, event_row_id: int, now: datetime) -> None:
    """Redact one stored event now, in its handler's transaction: a slash command typed in the admin chat names
    customers (a 顧客ID, a phone number); the audit keeps what it needs as keyed hashes, the event store nothing."""
    payload = connection.execute(select(EVENTS.c.payload).where(EVENTS.c.id == event_row_id)).scalar()
    if payload is not None:
        connection.execute(
            update(EVENTS)
            .where(EVENTS.c.id == event_row_id)
            .values(payload=skeleton(payload), redacted_at=now)
        )
