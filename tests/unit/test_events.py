"""Splitting webhook bodies and building rows tolerate anything LINE (or an attacker) might send."""

from __future__ import annotations

import pytest

from bot.inbound.events import MalformedPayload, event_key, event_row, split_payload
from models import utcnow
from tests import factories


@pytest.mark.parametrize(
    "body", [b"", b"{", b"[]", b'"x"', b'{"events": null}', b'{"events": ["a"]}', b"\xff"]
)
def test_non_payloads_are_malformed(body):
    """Anything but an object with an array of objects under `events` is refused."""
    with pytest.raises(MalformedPayload):
        split_payload(body)


def test_event_key_prefers_webhook_event_id():
    """LINE's id is the key; without one, a stable content hash is."""
    event = factories.follow(factories.user_id())
    assert event_key(event) == event["webhookEventId"]
    anonymous = {"type": "x", "b": 1, "a": 2}
    assert event_key(anonymous) == event_key({"a": 2, "type": "x", "b": 1})
    assert event_key(anonymous).startswith("sha256:")


def test_row_fields_from_odd_events():
    """Strange field types do not crash row building; they are stored as unknowns."""
    row = event_row({"type": 7, "source": "nope", "timestamp": True, "deliveryContext": []}, utcnow())
    assert (row["event_type"], row["line_user_id"], row["occurred_at"], row["is_redelivery"]) == (
        "unknown",
        None,
        None,
        False,
    )
    big = event_row({"type": "follow", "timestamp": 10**30}, utcnow())
    assert big["occurred_at"] is None
