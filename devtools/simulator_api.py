"""The chat simulator's LINE side (local mode only): act as a customer's LINE app against the LINE emulator.

Each action (add the friend, block, type, tap) becomes the webhook event LINE would send, built and signed by
`devtools/line_emulator/webhook_sender.py` with a reply token the emulator issued, and is posted over HTTP to the
service's own `/callback` (PUBLIC_BASE_URL), so it takes the production path. What the bot answered is read
back from the emulator's record of accepted messages; what the customer did is kept in Redis beside it.
"""

from __future__ import annotations

import json
import re
import secrets
from functools import cache
from typing import Any
from urllib.parse import quote

import urllib3
from flask import Blueprint, Response, abort, current_app, jsonify, request
from sqlalchemy import select
from urllib3.exceptions import HTTPError as Urllib3Error

from bot.platform.config import LINE_API_DEFAULT, Settings
from bot.platform.runtime import Runtime
from devtools.line_emulator import webhook_sender
from models import Customer, CustomerChannels, LineUser

blueprint = Blueprint("simulator_api", __name__, url_prefix="/simulator/api")

USER_ID = re.compile(r"U[0-9a-f]{32}")
PARAMS = {  # what LINE's date-time picker posts, by mode
    "datetime": re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}"),
    "date": re.compile(r"\d{4}-\d{2}-\d{2}"),
    "time": re.compile(r"\d{2}:\d{2}"),
}
TEXT_LIMIT = 5000  # LINE's limit of a text message
DATA_LIMIT = 300  # LINE's limit of postback data
LOG_LIMIT = 500  # the customer's own actions kept per LINE user
STATE_SECONDS = 30 * 24 * 3600
CUSTOMERS, CHANNELS = Customer.__table__, CustomerChannels.__table__


class Unavailable(Exception):
    """The emulator or the service's own webhook did not answer as expected (shown as 502)."""


def guard() -> None:
    """Served only when SIMULATOR_ENABLED is set and LINE is the emulator (it signs events for anyone)."""
    settings = current_settings()
    if not settings.simulator_enabled or settings.line_api_base_url == LINE_API_DEFAULT:
        abort(404)


blueprint.before_request(guard)


@blueprint.errorhandler(Unavailable)
def _unavailable(error: Unavailable) -> tuple[Response, int]:
    return jsonify(error=str(error)), 502


def current_runtime() -> Runtime:
    return current_app.extensions["runtime"]


def current_settings() -> Settings:
    return current_runtime().settings


@cache
def _pool() -> urllib3.PoolManager:
    return urllib3.PoolManager(maxsize=4)


# ── the emulator and the webhook ──────────────────────────────────────────────────────────────────────
def emulator(method: str, path: str, body: Any = None) -> Any:
    """Call the LINE emulator: its control API (`/__emulator__/…`) or the Messaging API (`/v2/…`)."""
    settings = current_settings()
    headers = {"Content-Type": "application/json"}
    if path.startswith("/v2/"):
        headers["Authorization"] = f"Bearer {settings.line_channel_access_token}"
    try:
        response = _pool().request(
            method,
            settings.line_api_base_url + path,
            body=None if body is None else json.dumps(body).encode(),
            headers=headers,
            timeout=urllib3.Timeout(connect=2.0, read=5.0),
            retries=False,
        )
    except (Urllib3Error, OSError) as exc:
        raise Unavailable(f"LINE emulator unreachable ({type(exc).__name__})") from exc
    if response.status == 404 and path.startswith("/v2/"):
        return None
    if response.status != 200:
        raise Unavailable(f"LINE emulator answered {response.status}")
    return json.loads(response.data)


def emulator_now() -> float:
    """The emulator's clock (epoch seconds): the times of what LINE delivered are on it."""
    return float(emulator("POST", "/__emulator__/clock", {"advance": 0})["now"])


def link_token_owner(token: str) -> str | None:
    """The LINE user a still-valid link token was issued for (None: unknown, used or expired)."""
    # as LINE's account-link endpoint: the token links once
    return emulator("GET", f"/__emulator__/link_tokens/{quote(token, safe='')}?consume=1").get("userId")


def post(user_id: str, kind: str, *, reply: bool = True, **fields: Any) -> int:
    """Send one event of this LINE user to /callback as LINE does; returns the webhook's status."""
    if reply:  # registered for this user, so the emulator checks the bot's reply as LINE would
        fields["replyToken"] = emulator("POST", "/__emulator__/reply_tokens", {"userId": user_id}).get(
            "replyToken"
        )
    event = webhook_sender.event(kind, user_id, timestamp=_timestamp(user_id), **fields)
    settings = current_settings()
    body = webhook_sender.payload(event)
    try:
        status, _ = webhook_sender.deliver(
            f"{settings.public_base_url}/callback", body, settings.line_channel_secret, timeout=5.0
        )
    except OSError as exc:  # urllib's URLError and time-outs
        raise Unavailable(f"{settings.public_base_url}/callback unreachable ({type(exc).__name__})") from exc
    if status != 200:
        raise Unavailable(f"/callback answered {status}")
    return status


def _timestamp(user_id: str) -> int:
    """Milliseconds of the emulator's clock, strictly increasing per user (follow and block apply in order)."""
    now = int(emulator_now() * 1000)
    key = state_key("ts", user_id)
    last = int(current_runtime().redis.get(key) or 0)
    stamp = max(now, last + 1)
    current_runtime().redis.set(key, stamp, ex=STATE_SECONDS)
    return stamp


# ── what the customer did (their side of the chat) ────────────────────────────────────────────────────
def state_key(kind: str, user_id: str) -> str:
    return f"simulator:{kind}:{user_id}"


def note(user_id: str, entry: dict[str, Any]) -> None:
    """Keep one of the customer's own actions (a text, a tapped label, a follow …) for the chat view."""
    redis, key = current_runtime().redis, state_key("log", user_id)
    pipe = redis.pipeline()
    pipe.rpush(key, json.dumps({"from": "user", "at": emulator_now(), **entry}, ensure_ascii=False))
    pipe.ltrim(key, -LOG_LIMIT, -1)
    pipe.expire(key, STATE_SECONDS)
    pipe.execute()


def _profile(user_id: str) -> dict[str, str]:
    raw = current_runtime().redis.hgetall(state_key("user", user_id))
    return {decoded(key): decoded(value) for key, value in raw.items()}


def decoded(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def _set_status(user_id: str, status: str) -> None:
    """The user as LINE knows them (friend or blocked), in the emulator and in the simulator's state."""
    profile = _profile(user_id)
    entry = {"userId": user_id, "status": status}
    if profile.get("name"):
        entry["displayName"] = profile["name"]
    if profile.get("language"):  # the language of the LINE app: the bot greets in it (GET profile)
        entry["language"] = profile["language"]
    emulator("POST", "/__emulator__/users", entry)
    current_runtime().redis.hset(state_key("user", user_id), "status", status)
    current_runtime().redis.expire(state_key("user", user_id), STATE_SECONDS)


# ── endpoints ─────────────────────────────────────────────────────────────────────────────────────────
@blueprint.get("/users/<user_id>/chat")
def chat(user_id: str) -> Response:
    """The chat as the customer's LINE app shows it: their actions and the messages LINE delivered, in order."""
    check_user(user_id)
    sent = emulator("GET", f"/__emulator__/sent_messages?to={user_id}")["sentMessages"]
    bot = [
        {"from": "bot", "at": m["time"], "id": m["id"], "message": _with_coupon(m["message"])}
        for m in sent
        if m["delivered"]
    ]
    own = [json.loads(raw) for raw in current_runtime().redis.lrange(state_key("log", user_id), 0, -1)]
    messages = sorted(own + bot, key=lambda m: (m["at"], m["from"] == "bot"))
    bound = _bound_customer(user_id)
    return jsonify(status=friend_status(user_id), customer=bound, messages=messages)


@blueprint.post("/users/<user_id>/events")
def act(user_id: str) -> Response | tuple[Response, int]:
    """One thing the customer does in their LINE app, sent to the webhook as LINE sends it."""
    check_user(user_id)
    action = request.get_json(silent=True) or {}
    kind = action.get("type")
    if kind in ("follow", "unblock"):
        _set_status(user_id, "friend")
        note(user_id, {"kind": "note", "note": kind})
        post(user_id, "follow", follow={"isUnblocked": kind == "unblock"})
    elif kind == "block":
        _set_status(user_id, "blocked")
        note(user_id, {"kind": "note", "note": "block"})
        post(user_id, "unfollow", reply=False)
    elif kind == "text":
        text = str(action.get("text") or "").strip()[:TEXT_LIMIT]
        if not text:
            return jsonify(error="empty text"), 400
        note(user_id, {"kind": "text", "text": text})
        message = {"id": str(secrets.randbelow(10**18)), "type": "text", "text": text}
        post(user_id, "message", message=message | {"quoteToken": secrets.token_urlsafe(32)})
    elif kind == "postback":
        postback = _postback(action)
        if postback is None:
            return jsonify(error="bad postback"), 400
        shown = str(action.get("display") or "")[:TEXT_LIMIT]
        picked = postback.get("params")
        if shown or picked:
            note(user_id, {"kind": "tap", "text": shown, "params": picked})
        post(user_id, "postback", postback=postback)
    else:
        return jsonify(error="unknown action"), 400
    return jsonify(status="ok")


def _postback(action: dict[str, Any]) -> dict[str, Any] | None:
    """LINE's `postback` of a tap: the action's data, and what the date-time picker gave (`params`)."""
    data = action.get("data")
    if not isinstance(data, str) or not data or len(data) > DATA_LIMIT:
        return None
    postback: dict[str, Any] = {"data": data}
    params = action.get("params") or {}
    if not isinstance(params, dict) or len(params) > 1:
        return None
    for mode, value in params.items():
        if mode not in PARAMS or not isinstance(value, str) or not PARAMS[mode].fullmatch(value):
            return None
        postback["params"] = {mode: value}
    return postback


def check_user(user_id: str) -> None:
    if not USER_ID.fullmatch(user_id):
        abort(404)


def _with_coupon(message: dict[str, Any]) -> dict[str, Any]:
    """A coupon message with the coupon as LINE's app shows it (title, description, end), from the API."""
    if message.get("type") != "coupon":
        return message
    coupon = emulator("GET", f"/v2/bot/coupon/{quote(str(message.get('couponId')), safe='')}") or {}
    keep = ("title", "description", "endTimestamp", "status")
    return {**message, "coupon": {k: coupon[k] for k in keep if k in coupon}}


def friend_status(user_id: str) -> str:
    """friend, blocked or none: what the customer's app did last, else what the service knows."""
    status = _profile(user_id).get("status")
    if status:
        return status
    with current_runtime().engine.connect() as connection:
        known = connection.execute(
            select(LineUser.__table__.c.friend_status).where(LineUser.__table__.c.line_user_id == user_id)
        ).scalar()
    return {"following": "friend", "blocked": "blocked"}.get(known or "", "none")


def _bound_customer(user_id: str) -> dict[str, Any] | None:
    """The customer record the service holds for this LINE user (a prospect, or the linked customer)."""
    with current_runtime().engine.connect() as connection:
        row = connection.execute(
            select(CUSTOMERS.c.id, CUSTOMERS.c.customer_code, CUSTOMERS.c.family_name, CUSTOMERS.c.given_name)
            .add_columns(CHANNELS.c.line_linked)
            .join(CHANNELS, CHANNELS.c.customer_id == CUSTOMERS.c.id)
            .where(CHANNELS.c.line_user_id == user_id)
        ).first()
    if row is None:
        return None
    name = " ".join(part for part in (row.family_name, row.given_name) if part)
    return {"id": row.id, "code": row.customer_code, "name": name, "linked": bool(row.line_linked)}
