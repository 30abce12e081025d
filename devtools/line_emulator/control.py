"""HTTP control endpoints under ``/__emulator__/`` for driving a separately running emulator.

No auth (the emulator listens on loopback).  All bodies are JSON.

* ``GET    /__emulator__/requests[?path_prefix=&method=]`` → ``{"requests": [...]}``
* ``GET    /__emulator__/sent_messages[?to=]``            → ``{"sentMessages": [...]}``
* ``POST   /__emulator__/reset``                          → ``{}``
* ``GET    /__emulator__/faults``                         → ``{"faults": [...]}``
* ``POST   /__emulator__/faults`` ``{"target", "kind", "times"?, "delay"?, "accepted"?, "status"?,
  "body"?, "method"?}``                                   → ``{"fault": {...}}``
* ``DELETE /__emulator__/faults``                         → ``{}``
* ``POST   /__emulator__/users`` ``{"userId", "status"?, "displayName"?, "pictureUrl"?,
  "statusMessage"?, "language"?}`` or ``{"users": [...]}`` → ``{"users": [...]}``
* ``POST   /__emulator__/reply_tokens`` ``{"userId"?}``    → ``{"replyToken": "..."}``
* ``GET    /__emulator__/link_tokens/<token>[?consume=1]`` → ``{"userId": "U..." | null}`` (consume: used, as
  LINE's account-link endpoint does: a link token links once)
* ``POST   /__emulator__/contents`` ``{"userId"?, "type": "image"|"video"|"audio"|"file", "contentType",
  "data": base64, "transcoding"?: "processing"|"succeeded"|"failed"}`` → ``{"messageId"}`` (what a user sent: the
  content API serves it under that id; the webhook event a test sends names it)
* ``POST   /__emulator__/contents/<messageId>`` ``{"transcoding"}`` → ``{}`` (a video's preparation moves on)
* ``POST   /__emulator__/clock`` ``{"advance": seconds}``  → ``{"now": epoch}``
* ``GET    /__emulator__/quota`` / ``POST`` ``{"limit": N | null}`` → ``{"limit", "usage"}``
"""

from __future__ import annotations

import base64
import json
from typing import Any

from werkzeug.wrappers import Request

from devtools.line_emulator.calls import NOT_FOUND, Answer, error
from devtools.line_emulator.faults import Fault
from devtools.line_emulator.state import EmulatorState

PREFIX = "/__emulator__"
_PROFILE_KEYS = {
    "displayName": "display_name",
    "pictureUrl": "picture_url",
    "statusMessage": "status_message",
    "language": "language",
}


def _json(request: Request) -> Any:
    raw = request.get_data(cache=True)
    return json.loads(raw) if raw else {}


def _users(state: EmulatorState, body: dict[str, Any]) -> Answer:
    entries = body.get("users", [body])
    done = []
    for entry in entries:
        profile = {attr: entry[key] for key, attr in _PROFILE_KEYS.items() if key in entry}
        state.set_user(entry["userId"], entry.get("status", "friend"), **profile)
        done.append(entry["userId"])
    return Answer(200, {"users": done})


def _faults(state: EmulatorState, request: Request) -> Answer:
    if request.method == "GET":
        return Answer(200, {"faults": [f.to_dict() for f in state.faults.pending()]})
    if request.method == "DELETE":
        state.faults.clear()
        return Answer(200, {})
    body = _json(request)
    fault = Fault(
        target=body["target"],
        kind=body["kind"],
        remaining=body.get("times", 1),
        delay=float(body.get("delay", 1.0)),
        accepted=bool(body.get("accepted", False)),
        status=body.get("status"),
        body=body.get("body"),
        method=body.get("method"),
        headers=dict(body.get("headers", {})),
    )
    return Answer(200, {"fault": state.faults.add(fault).to_dict()})


def _route(state: EmulatorState, request: Request, path: str) -> Answer | None:
    method = request.method
    if path == "/requests" and method == "GET":
        prefix, verb = request.args.get("path_prefix", ""), request.args.get("method")
        records = [
            r.to_dict()
            for r in state.requests()
            if r.path.startswith(prefix) and (verb is None or r.method == verb.upper())
        ]
        return Answer(200, {"requests": records})
    if path == "/sent_messages" and method == "GET":
        to = request.args.get("to")
        return Answer(200, {"sentMessages": [m.to_dict() for m in state.sent() if to is None or m.to == to]})
    if path == "/reset" and method == "POST":
        state.reset()
        return Answer(200, {})
    if path == "/faults" and method in ("GET", "POST", "DELETE"):
        return _faults(state, request)
    if path == "/users" and method == "POST":
        return _users(state, _json(request))
    if path == "/reply_tokens" and method == "POST":
        return Answer(200, {"replyToken": state.register_reply_token(_json(request).get("userId"))})
    if path.startswith("/link_tokens/") and method == "GET":
        token, consume = path[len("/link_tokens/") :], request.args.get("consume") == "1"
        return Answer(200, {"userId": state.link_token_owner(token, consume=consume)})
    if path == "/contents" and method == "POST":
        body = _json(request)
        message_id = state.add_content(
            body.get("userId"),
            body["type"],
            base64.b64decode(body["data"]),
            body["contentType"],
            body.get("transcoding"),
        )
        return Answer(200, {"messageId": message_id})
    if path.startswith("/contents/") and method == "POST":
        message_id = path[len("/contents/") :]
        if state.content(message_id) is None:
            return Answer(404, dict(NOT_FOUND))
        state.set_transcoding(message_id, _json(request)["transcoding"])
        return Answer(200, {})
    if path == "/clock" and method == "POST":
        state.clock.advance(float(_json(request).get("advance", 0)))
        return Answer(200, {"now": state.clock.now()})
    if path == "/quota" and method in ("GET", "POST"):
        if method == "POST":
            state.monthly_quota = _json(request).get("limit")
        return Answer(200, {"limit": state.monthly_quota, "usage": state.usage})
    return None


def handle(state: EmulatorState, request: Request) -> Answer:
    """Serve one control request (paths start with ``/__emulator__``)."""
    try:
        answer = _route(state, request, request.path[len(PREFIX) :].rstrip("/") or "/")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return error(400, f"Bad control request: {exc.__class__.__name__}: {exc}")
    return answer if answer is not None else Answer(404, dict(NOT_FOUND))
