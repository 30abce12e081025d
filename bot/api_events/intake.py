"""Receiving one request of pushed events: read, check, remember its key, write all of it or nothing, answer.

Only ids and outcomes are logged (types, counts, refused field paths), never what the events say.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from bot.api_events import idempotency
from bot.api_events.apply import EventsRefused, apply_events
from bot.api_events.rows import ApiEvent, to_events
from bot.api_events.validation import FieldError, MalformedBody, character_errors, check_body, parse_body
from bot.delivery.consent import Evidence
from bot.platform.config import Settings

log = logging.getLogger(__name__)

ACCEPTED = 200  # the events are written when the answer is sent
BAD_KEY = "invalid Idempotency-Key: 1 to 255 visible ASCII characters"
MISMATCH = "Idempotency-Key already used with a different body; use a new key for a new request"


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]
    replayed: bool = False  # the stored answer to an earlier request with the same Idempotency-Key


def receive(
    engine: Engine,
    body: bytes,
    *,
    client: str,
    key: str | None,
    now: datetime,
    settings: Settings | None = None,
) -> Reply:
    """Handle one authenticated request body from `client` (a token fingerprint); with the service's `settings`,
    the events that start journeys enrol the customer (bot/api_events/apply.py)."""
    try:
        payload = parse_body(body)
    except MalformedBody as exc:
        return _refuse(client, Reply(400, {"error": "malformed JSON", "detail": str(exc)}))
    if key is not None and not idempotency.is_valid_key(key):
        return _refuse(client, Reply(400, {"error": BAD_KEY}))
    try:
        return _receive(engine, payload, client, key, now, settings)
    except OperationalError as exc:
        log.error("ingest api: client %s, database unavailable (%s)", client, type(exc).__name__)
        return Reply(503, {"error": "temporarily unable to store events; retry later"})


def _receive(
    engine: Engine, payload: Any, client: str, key: str | None, now: datetime, settings: Settings | None
) -> Reply:
    refused = character_errors(payload, "")
    if refused:  # before anything else: a lone surrogate cannot even be hashed, and a field name holding a
        return _invalid(client, refused)  # control character must not come back as a path
    fingerprint = idempotency.request_hash(payload)
    if key is not None and (earlier := _recall(engine, client, key, fingerprint, now)):
        return earlier
    located, errors = check_body(payload)
    if errors:
        return _invalid(client, errors)
    events, errors = to_events(located)
    if errors:
        return _invalid(client, errors)
    return write_events(
        engine, events, client=client, key=key, fingerprint=fingerprint, now=now, settings=settings
    )


def write_events(
    engine: Engine,
    events: list[ApiEvent],
    *,
    client: str,
    key: str | None,
    fingerprint: str,
    now: datetime,
    settings: Settings | None = None,
) -> Reply:
    """Claim the key (if any) and write every event in one transaction; a taken key replays its answer."""
    accepted = Reply(ACCEPTED, {"status": "accepted", "events": len(events)})
    try:
        with engine.begin() as connection:
            if key is not None:
                idempotency.claim(connection, client, key, fingerprint, (accepted.status, accepted.body), now)
            apply_events(connection, events, now, request_evidence(client, key, fingerprint), settings)
    except idempotency.KeyTaken as taken:
        # A simultaneous request with the same key committed first: answer as it was answered.
        earlier = _recall(engine, client, taken.key, fingerprint, now)
        return earlier or Reply(409, {"error": "a request with this Idempotency-Key is in progress; retry"})
    except EventsRefused as exc:
        return _invalid(client, exc.errors)
    types = ", ".join(f"{name}×{count}" for name, count in Counter(e.type for e in events).items())
    log.info("ingest api: client %s, %s events accepted (%s), key %s", client, len(events), types, key or "-")
    return accepted


def request_evidence(client: str, key: str | None, fingerprint: str) -> Evidence:
    """A request's consent changes are shown by who sent it, its Idempotency-Key and its body's SHA-256."""
    return Evidence(sha256=fingerprint, ref=f"api:{client}" + (f":{key}" if key else ""))


def _recall(engine: Engine, client: str, key: str, fingerprint: str, now: datetime) -> Reply | None:
    with engine.begin() as connection:
        earlier = idempotency.recall(connection, client, key, now)
    if earlier is None:
        return None
    if earlier.request_hash != fingerprint:
        return _refuse(client, Reply(422, {"error": MISMATCH}))
    log.info("ingest api: client %s, key %s replayed (%s)", client, key, earlier.status)
    return Reply(earlier.status, earlier.body, replayed=True)


def _invalid(client: str, errors: list[FieldError]) -> Reply:
    log.info("ingest api: client %s, invalid event (%s)", client, ", ".join(e.path for e in errors[:20]))
    return Reply(422, {"error": "invalid event", "fields": [error.as_dict() for error in errors]})


def _refuse(client: str, reply: Reply) -> Reply:
    log.info("ingest api: client %s refused (%s): %s", client, reply.status, reply.body["error"])
    return reply
