"""`POST /api/v1/events`: the insurer's systems push what customers did (資料請求, 来店予約, 契約 …).

HTTP only: bearer-token check, body size, headers in and out. Reading, checking and writing the events is
`bot.api_events.intake`. The contract is in `docs/openapi/ingest-api.yml`.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from bot.api_events.auth import authenticate
from bot.api_events.intake import receive
from bot.platform.runtime import Runtime
from models import utcnow

blueprint = Blueprint("ingest_api", __name__)

MAX_BODY_BYTES = 1024 * 1024  # 500 events of about 2 KB; the app refuses larger bodies anyway
RETRY_AFTER_SECONDS = 30


@blueprint.post("/api/v1/events")
def receive_events() -> Response:
    runtime: Runtime = current_app.extensions["runtime"]
    authorization = request.headers.get("Authorization", "")
    client = authenticate(authorization, runtime.settings.ingest_api_tokens)
    if client is None:
        return _unauthorised(presented=bool(authorization))
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return too_large()
    # A chunked body (no Content-Length) is cut at the limit while read: read one byte more to notice.
    request.max_content_length = MAX_BODY_BYTES + 1
    body = request.get_data(cache=False)
    if len(body) > MAX_BODY_BYTES:
        return too_large()
    key = request.headers.get("Idempotency-Key")
    reply = receive(runtime.engine, body, client=client, key=key, now=utcnow(), settings=runtime.settings)
    response = jsonify(reply.body)
    response.status_code = reply.status
    if reply.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    if reply.status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


@blueprint.errorhandler(RequestEntityTooLarge)
def too_large(_error: Exception | None = None) -> Response:
    response = jsonify(error="body too large", limit_bytes=MAX_BODY_BYTES)
    response.status_code = 413
    return response


def _unauthorised(presented: bool) -> Response:
    response = jsonify(error="missing or invalid bearer token")
    response.status_code = 401
    challenge = 'Bearer realm="ingest-api"'
    response.headers["WWW-Authenticate"] = challenge + (', error="invalid_token"' if presented else "")
    return response
