"""Turning LINE webhook payloads into stored rows (web side) and typed SDK events (worker side)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from linebot.v3.models import UnknownEvent
from linebot.v3.webhooks import Event

from bot.platform.json_input import TooDeep, read_json


class MalformedPayload(ValueError):
    """The webhook body is not a LINE webhook payload; the request is refused and nothing is stored."""


@dataclass(frozen=True)
class MalformedEvent:
    """An event the SDK cannot model at all (e.g. missing `mode`); still stored and routed to the default."""

    raw: dict[str, Any] = field(repr=False)
    type: str = "unknown"


def split_payload(body: bytes) -> list[dict[str, Any]]:
    """The events of a webhook body. Raises MalformedPayload for anything that is not `{"events": [{...}]}`."""
    try:
        document = read_json(body)
    except TooDeep as exc:
        raise MalformedPayload(f"body is {exc}") from None
    except ValueError:  # UnicodeDecodeError included
        raise MalformedPayload("body is not JSON") from None
    if not isinstance(document, dict):
        raise MalformedPayload("body is not a JSON object")
    events = document.get("events")
    if not isinstance(events, list):
        raise MalformedPayload("`events` is missing or not an array")
    if not all(isinstance(item, dict) for item in events):
        raise MalformedPayload("an item of `events` is not an object")
    return events


def event_key(event: dict[str, Any]) -> str:
    """The dedup key: LINE's `webhookEventId`, or a content hash for an event that lacks one."""
    key = event.get("webhookEventId")
    if isinstance(key, str) and 0 < len(key) <= 64:
        return key
    canonical = json.dumps(event, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def event_row(event: dict[str, Any], received_at: datetime) -> dict[str, Any]:
    """The `webhook_events` row for one event, tolerant of missing or oddly typed fields."""
    source = event.get("source") if isinstance(event.get("source"), dict) else {}
    user_id = source.get("userId")
    event_type = event.get("type")
    delivery = event.get("deliveryContext") if isinstance(event.get("deliveryContext"), dict) else {}
    return {
        "webhook_event_id": event_key(event),
        "event_type": event_type[:64] if isinstance(event_type, str) and event_type else "unknown",
        "source_type": source.get("type")[:16] if isinstance(source.get("type"), str) else None,
        "line_user_id": user_id[:64] if isinstance(user_id, str) else None,
        "occurred_at": _occurred_at(event.get("timestamp")),
        "is_redelivery": delivery.get("isRedelivery") is True,
        "payload": json.dumps(event, ensure_ascii=False, separators=(",", ":")),
        "status": "received",
        "attempts": 0,
        "received_at": received_at,
    }


def _occurred_at(timestamp: object) -> datetime | None:
    if isinstance(timestamp, bool) or not isinstance(timestamp, int | float):
        return None
    try:
        return datetime.fromtimestamp(timestamp / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def parse_event(raw: dict[str, Any]) -> Event | MalformedEvent:
    """A typed SDK event; unknown types become UnknownEvent, unmodellable ones MalformedEvent."""
    try:
        return Event.from_dict(raw)
    except (ValueError, TypeError, KeyError):
        pass
    try:
        return UnknownEvent.new_from_json_dict(raw)
    except (ValueError, TypeError, KeyError):
        event_type = raw.get("type")
        return MalformedEvent(raw=raw, type=event_type if isinstance(event_type, str) else "unknown")
