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
from sqlalchemy.exc import SQLAlchemyError

from bot.inbound.events import MalformedPayload, event_row, split_payload
from bot.inbound.ingest import Ingestor
from bot.jobs.queues import enqueue_events
from bot.platform.bulk import insert_new
from bot.platform.runtime import INGEST_TIMEOUT_SECONDS, Runtime
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
    received_at = utcnow()
    rows = [event_row(event, received_at) for event in events]
    try:
        stored = current_app.extensions["ingestor"].submit(rows, timeout=INGEST_TIMEOUT_SECONDS)
    except (SQLAlchemyError, TimeoutError) as exc:
        # Not acknowledged, so LINE redelivers (when redelivery is on) once the database is back.
        log.error("webhook: could not store %s events (%s)", len(events), type(exc).__name__)
        return _refuse("temporarily unable to store events", 503)
    log.info("webhook: %s events, %s new", len(events), stored)
    return jsonify(status="ok", stored=stored)


def make_ingestor(runtime: Runtime) -> Ingestor:
    """The web process's group-commit writer: store in the runtime's database, enqueue on its Redis."""
    return Ingestor(
        store=lambda rows: store_events(runtime, rows),
        enqueue=lambda ids: enqueue_events(runtime.redis, runtime.settings, ids),
    )


def store_events(runtime: Runtime, rows: list[dict]) -> dict[str, int]:
    """Insert the rows in one statement; keys already stored (redeliveries, replays) are skipped.

    Returns the new rows' ids by `webhook_event_id`.
    """
    # One statement in autocommit: no BEGIN/COMMIT round trips, and it is atomic on its own. On the webhook's
    # own connection, whose statements give up before LINE does (bot/platform/runtime.py). Behind a transaction
    # pooler those limits hold per transaction (bot/platform/db.py), so there the statement runs in one.
    engine = runtime.webhook_engine or runtime.engine
    if runtime.settings.database_transaction_pooler:
        connecting = engine.begin()
    else:
        connecting = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    with connecting as connection:
        stored = insert_new(
            connection, WebhookEvent.__table__, rows, "webhook_event_id", ("id", "webhook_event_id")
        )
        return {key: row_id for row_id, key in stored}


def _refuse(reason: str, status: int) -> tuple[Response, int]:
    log.info("webhook refused: %s (%s)", reason, status)
    return jsonify(error=reason), status
