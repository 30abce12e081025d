"""The platform's other half: webhook events built and signed exactly as LINE sends them to a bot server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request
from typing import Any

_ULID_CHARS = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def sign(body: bytes, channel_secret: str) -> str:
    """`X-Line-Signature`: base64(HMAC-SHA256(channel secret, raw body))."""
    return base64.b64encode(hmac.new(channel_secret.encode(), body, hashlib.sha256).digest()).decode()


def new_user_id() -> str:
    return "U" + secrets.token_hex(16)


def new_webhook_event_id() -> str:
    """A ULID-shaped id, as LINE uses for `webhookEventId`."""
    return "".join(secrets.choice(_ULID_CHARS) for _ in range(26))


def event(
    event_type: str, user_id: str | None = None, *, timestamp: int | None = None, **fields: Any
) -> dict:
    """An event with every common field LINE always sends; type-specific fields come in `fields`."""
    built: dict[str, Any] = {
        "type": event_type,
        "mode": "active",
        "timestamp": timestamp if timestamp is not None else int(time.time() * 1000),
        "webhookEventId": new_webhook_event_id(),
        "deliveryContext": {"isRedelivery": False},
    }
    if user_id is not None:
        built["source"] = {"type": "user", "userId": user_id}
    built.update(fields)
    return built


def payload(*events: dict, destination: str = "U" + "0" * 32) -> bytes:
    return json.dumps({"destination": destination, "events": list(events)}, ensure_ascii=False).encode()


def deliver(url: str, body: bytes, channel_secret: str, timeout: float = 2.0) -> tuple[int, str]:
    """POST a signed webhook like LINE does (2-second time-out) and return the status and body."""
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "LineBotWebhook/2.0",
            "X-Line-Signature": sign(body, channel_secret),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
