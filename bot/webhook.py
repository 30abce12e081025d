"""`POST /callback`: LINE's webhook. Verify, store each event once, enqueue, answer 200 — nothing slow here.

LINE waits 2 seconds at most, redelivers on non-2xx, and may send the same event twice, so the only work
in the request is one INSERT ... ON CONFLICT DO NOTHING and one pipelined enqueue.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging

from flask import Blueprint, Response, current_app, jsonify, request
from redis.exceptions import RedisError
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from bot.events import MalformedPayload, event_row, split_payload
from bot.queues import enqueue_events
from bot.runtime import Runtime
from models import WebhookEvent, utcnow

log = logging.getLogger(__name__)

blueprint = Blueprint("webhook", __name__)

MAX_BODY_BYTES = 1024 * 1024


def signature_is_valid(channel_secret: str, body: bytes, signature: str) -> bool:
    """LINE's scheme: base64(HMAC-SHA256(channel secret, raw body)), compared in constant time."""
    if not channel_secret or not signature:
        return False
    digest = hmac.new(channel_secret.encode(), body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest), signature.encode("ascii", "replace"))


@blueprint.post("/callback")
def callback() -> Response | tuple[Response, int]:
    runtime: Runtime = current_app.extensions["runtime"]
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return _refuse("body too large", 413)
    body = request.get_data(cache=False)
    if not signature_is_valid(
        runtime.settings.line_channel_secret, body, request.headers.get("X-Line-Signature", "")
    ):
        return _refuse("invalid or missing X-Line-Signature", 400)
    try:
        events = split_payload(body)
    except MalformedPayload as exc:
        return _refuse(str(exc), 400)
    if not events:
        return jsonify(status="ok", stored=0)
    try:
        new_ids = store_events(runtime, events)
    except SQLAlchemyError as exc:
        # Not acknowledged, so LINE redelivers (when redelivery is on) once the database is back.
        log.error("webhook: could not store %s events (%s)", len(events), type(exc).__name__)
        return _refuse("temporarily unable to store events", 503)
    try:
        enqueue_events(runtime.redis, runtime.settings, new_ids)
    except RedisError as exc:
        # The events are stored; the worker's periodic tick enqueues them once Redis is back.
        log.warning("webhook: enqueue of %s events deferred (%s)", len(new_ids), type(exc).__name__)
    log.info("webhook: %s events, %s new", len(events), len(new_ids))
    return jsonify(status="ok", stored=len(new_ids))


def store_events(runtime: Runtime, events: list[dict]) -> list[int]:
    """Insert the events; ones already stored (redeliveries, replays) are skipped by the unique key."""
    received_at = utcnow()
    rows = _unique_rows(event_row(event, received_at) for event in events)
    insert = pg_insert if runtime.engine.dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(WebhookEvent.__table__)
        .on_conflict_do_nothing(index_elements=["webhook_event_id"])
        .returning(WebhookEvent.__table__.c.id)
    )
    with runtime.engine.begin() as connection:
        result = connection.execute(statement, rows)
        return sorted(row_id for (row_id,) in result.all())


def _unique_rows(rows) -> list[dict]:  # type: ignore[no-untyped-def]
    """One row per key: a body that repeats an event stores it once."""
    by_key: dict[str, dict] = {}
    for row in rows:
        by_key.setdefault(row["webhook_event_id"], row)
    return list(by_key.values())


def _refuse(reason: str, status: int) -> tuple[Response, int]:
    log.info("webhook refused: %s (%s)", reason, status)
    return jsonify(error=reason), status
