"""The emulator's WSGI application: routing, auth, retry keys, faults, validation, recording.

Order of checks for an API request (as LINE appears to apply them):

1. route (unknown path → 404 ``{"message": "Not found"}``),
2. ``Authorization: Bearer <channel access token>`` (→ 401),
3. ``X-Line-Retry-Key``: only on push/multicast/narrowcast/broadcast, must be a UUID (→ 400),
4. injected faults (these fire before LINE "accepts" anything),
5. JSON parsing (→ 400),
6. an already-accepted retry key (→ 409 + ``x-line-accepted-request-id``),
7. schema/limit validation (→ 400 with ``details``), then the handler; a 2xx answer accepts the
   retry key (failed requests never do).

Every response is JSON and carries a fresh ``x-line-request-id``.  Requests under
``/__emulator__/`` are control calls (see ``control.py``): not authenticated, not recorded.
Only method, endpoint template, status and request id are logged, never bodies or ids.
"""

from __future__ import annotations

import json
import logging
import re
import time
import traceback
import uuid
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.wrappers import Request, Response

from devtools.line_emulator import control, messages
from devtools.line_emulator.calls import NOT_FOUND, Answer, Call, error
from devtools.line_emulator.routes import BY_NAME, RETRY_KEY_ENDPOINTS, build_map
from devtools.line_emulator.schema import request_schema_name
from devtools.line_emulator.state import EmulatorState, RecordedRequest
from devtools.line_emulator.validation import error_body, validate_body

log = logging.getLogger("devtools.line_emulator")

UUID_HEX = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
AUTH_FAILED = "Authentication failed. Confirm that the access token in the authorization header is valid."
AUTH_MISSING = "Authorization header required. Must follow the scheme, 'Authorization: Bearer <ACCESS TOKEN>'"
CONTROL_PREFIX = "/__emulator__/"


class _BadJson(ValueError):
    pass


class EmulatorApp:
    """WSGI callable serving the emulated Messaging API from an ``EmulatorState``."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.url_map = build_map()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        request_id = str(uuid.uuid4())
        if request.path.startswith(CONTROL_PREFIX) or request.path == CONTROL_PREFIX.rstrip("/"):
            answer = control.handle(self.state, request)
        else:
            answer = self._api(request, request_id)
        if answer.raw is not None:  # a customer's photo, video or file (the content API)
            response = Response(answer.raw, status=answer.status, content_type=answer.content_type)
        else:
            response = Response(
                json.dumps(answer.body, ensure_ascii=False),
                status=answer.status,
                content_type="application/json",
            )
        response.headers["x-line-request-id"] = request_id
        for name, value in answer.headers.items():
            response.headers[name] = value
        return response(environ, start_response)

    # --------------------------------------------------------------------------------------
    def _api(self, request: Request, request_id: str) -> Answer:
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            name, args = adapter.match()
        except (NotFound, MethodNotAllowed) as exc:
            name, args = None, {}
            answer = (
                Answer(404, dict(NOT_FOUND))
                if isinstance(exc, NotFound)
                else error(405, "Method not allowed")
            )
        record = self._record(request, request_id, name)
        if name is not None:
            try:
                answer = self._dispatch(request, request_id, name, args)
            except Exception as exc:  # noqa: BLE001 - an emulator bug must look like a LINE 500
                # code locations only: the exception text could contain request data
                log.error(
                    "emulator bug in endpoint %s: %s\n%s",
                    name,
                    type(exc).__name__,
                    "".join(traceback.format_tb(exc.__traceback__)),
                )
                answer = error(500, "An error occurred in the server")
        record.status, record.response = answer.status, answer.body
        template = BY_NAME[name].path if name else "(unmatched)"
        log.info("%s %s -> %d [%s]", request.method, template, answer.status, request_id)
        return answer

    def _record(self, request: Request, request_id: str, name: str | None) -> RecordedRequest:
        try:
            body = _parse_json(request)
        except _BadJson:
            body = None
        record = RecordedRequest(
            request_id=request_id,
            method=request.method,
            path=request.path,
            query={k: request.args.getlist(k) for k in request.args},
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            time=self.state.clock.now(),
            endpoint=name,
        )
        self.state.record(record)
        return record

    def _dispatch(self, request: Request, request_id: str, name: str, args: dict[str, str]) -> Answer:
        state, endpoint = self.state, BY_NAME[name]
        auth = request.headers.get("Authorization")
        if not auth:
            return error(401, AUTH_MISSING)
        if auth != f"Bearer {state.channel_access_token}":
            return error(401, AUTH_FAILED)
        retry_key = request.headers.get("X-Line-Retry-Key")
        if retry_key is not None:
            if name not in RETRY_KEY_ENDPOINTS:
                return error(400, "X-Line-Retry-Key is not supported for this API")
            if not UUID_HEX.match(retry_key):
                return error(400, "The value of the X-Line-Retry-Key header is invalid")
        fault = state.faults.take(name, request.path, request.method)
        if fault is not None and not fault.passes_through:
            if fault.kind == "timeout":
                time.sleep(fault.delay)
            status, body = fault.response
            return Answer(status, body, dict(fault.headers))
        try:
            body = _parse_json(request)
        except _BadJson:
            return error(400, "The request body could not be parsed as JSON")
        schema = request_schema_name(endpoint.path, endpoint.method)
        call = Call(
            state=state,
            endpoint=name,
            args=args,
            query=request.args,
            body=body,
            raw=request.get_data(),
            content_type=request.mimetype,
            request_id=request_id,
            retry_key=retry_key,
        )
        if retry_key is None:
            answer = _validated(call, schema)
        else:
            with state.send_lock:
                answer = _with_retry_key(call, schema)
        if fault is not None:  # accepted timeout: LINE processed it, the response is lost
            time.sleep(fault.delay)
        return answer


def _parse_json(request: Request) -> Any:
    raw = request.get_data(cache=True)
    if not raw or request.mimetype.startswith("image/"):
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise _BadJson() from exc


def _validated(call: Call, schema: str | None) -> Answer:
    if schema is not None and call.state.sample_validation():
        details = validate_body(schema, call.body) + messages.coupon_errors(call.state, call.body)
        if details:
            return Answer(400, error_body(details))
    return BY_NAME[call.endpoint].handler(call)


def _with_retry_key(call: Call, schema: str | None) -> Answer:
    key = str(call.retry_key)
    accepted = call.state.accepted_key(key)
    if accepted is not None:
        body: dict[str, Any] = {"message": "The retry key is already accepted"}
        if accepted.sent_messages is not None:
            body["sentMessages"] = accepted.sent_messages
        return Answer(409, body, {"x-line-accepted-request-id": accepted.request_id})
    answer = _validated(call, schema)
    if answer.ok:
        sent = answer.body.get("sentMessages") if call.endpoint == "push" else None
        call.state.accept_key(key, call.request_id, sent)
    return answer
