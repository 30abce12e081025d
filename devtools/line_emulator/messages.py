"""Route handlers for sending messages (reply/push/multicast/broadcast/narrowcast), validation
endpoints and quota.  Request bodies reach these handlers already schema-validated.

Delivery rules follow LINE: push to an unknown id is 400 "Failed to send messages", push to a
user who blocked the OA is 200 but not delivered, multicast silently skips invalid ids.  Quota is
counted per delivered recipient for push/multicast/broadcast (replies are free).
"""

from __future__ import annotations

import secrets
from typing import Any

from devtools.line_emulator.calls import Answer, Call, detail_error, error, iso_time
from devtools.line_emulator.state import USER_ID, EmulatorState, SentMessage

QUOTABLE_TYPES = frozenset({"text", "textV2", "sticker", "image", "video"})
MONTHLY_LIMIT = {"message": "You have reached your monthly limit."}


def coupon_errors(state: EmulatorState, body: Any) -> list[dict[str, str]]:
    """Coupon messages must name a coupon that exists and is still running."""
    out: list[dict[str, str]] = []
    messages = body.get("messages") if isinstance(body, dict) else None
    for i, message in enumerate(messages if isinstance(messages, list) else []):
        if isinstance(message, dict) and message.get("type") == "coupon":
            with state.lock:
                coupon = state.data.coupons.get(str(message.get("couponId")))
            if coupon is None or coupon["status"] != "RUNNING":
                out.append(
                    {
                        "message": "The coupon doesn't exist or isn't running",
                        "property": f"messages[{i}].couponId",
                    }
                )
    return out


def _sent_ids(call: Call) -> list[dict[str, str]]:
    """A fresh ``{"id", "quoteToken"?}`` for each message object of the request."""
    out = []
    for message in call.body["messages"]:
        sent = {"id": call.state.next_message_id()}
        if message.get("type") in QUOTABLE_TYPES:
            sent["quoteToken"] = secrets.token_urlsafe(32)
        out.append(sent)
    return out


def _record(
    call: Call,
    ids: list[dict[str, str]],
    to: str | None,
    delivered: bool = True,
    reply_token: str | None = None,
) -> None:
    now = call.state.clock.now()
    call.state.add_sent(
        [
            SentMessage(
                id=sent["id"],
                message=message,
                endpoint=call.endpoint,
                request_id=call.request_id,
                time=now,
                to=to,
                reply_token=reply_token,
                delivered=delivered,
                quote_token=sent.get("quoteToken"),
            )
            for sent, message in zip(ids, call.body["messages"], strict=True)
        ]
    )


def reply(call: Call) -> Answer:
    token = call.body["replyToken"]
    valid, user_id = call.state.use_reply_token(token)
    if not valid:
        return error(400, "Invalid reply token")
    ids = _sent_ids(call)
    _record(call, ids, user_id, reply_token=token)
    return Answer(200, {"sentMessages": ids})


def push(call: Call) -> Answer:
    to = call.body["to"]
    status = call.state.user_status(to)
    if status == "unknown":
        return error(400, "Failed to send messages")
    delivered = status == "friend"
    with call.state.lock:
        if not call.state.quota_allows(int(delivered)):
            return Answer(429, dict(MONTHLY_LIMIT))
        call.state.consume_quota(int(delivered))
    ids = _sent_ids(call)
    _record(call, ids, to, delivered)
    return Answer(200, {"sentMessages": ids})


def multicast(call: Call) -> Answer:
    recipients = [
        uid
        for uid in dict.fromkeys(call.body["to"])
        if isinstance(uid, str) and USER_ID.match(uid) and call.state.user_status(uid) != "unknown"
    ]
    delivered = {uid: call.state.user_status(uid) == "friend" for uid in recipients}
    count = sum(delivered.values())
    with call.state.lock:
        if not call.state.quota_allows(count):
            return Answer(429, dict(MONTHLY_LIMIT))
        call.state.consume_quota(count)
    ids = _sent_ids(call)
    for uid in recipients:
        _record(call, ids, uid, delivered[uid])
    return Answer(200, {})


def broadcast(call: Call) -> Answer:
    friends = call.state.friends()
    with call.state.lock:
        if not call.state.quota_allows(len(friends)):
            return Answer(429, dict(MONTHLY_LIMIT))
        call.state.consume_quota(len(friends))
    ids = _sent_ids(call)
    _record(call, ids, None)  # one entry per message with to=None; recipients are "all friends"
    return Answer(200, {})


def narrowcast(call: Call) -> Answer:
    ids = _sent_ids(call)
    _record(call, ids, None)
    with call.state.lock:
        call.state.data.narrowcasts[call.request_id] = call.state.clock.now()
    return Answer(202, {})


def narrowcast_progress(call: Call) -> Answer:
    request_id = call.query.get("requestId")
    if not request_id:
        return detail_error("Must be specified", "requestId")
    with call.state.lock:
        accepted = call.state.data.narrowcasts.get(request_id)
    if accepted is None:
        return error(404, "Not found")
    return Answer(
        200,
        {
            "phase": "succeeded",
            "successCount": 0,
            "failureCount": 0,
            "targetCount": 0,
            "acceptedTime": iso_time(accepted),
            "completedTime": iso_time(accepted),
        },
    )


def validate_messages(call: Call) -> Answer:
    return Answer(200, {})


def quota(call: Call) -> Answer:
    limit = call.state.monthly_quota
    return Answer(200, {"type": "none"} if limit is None else {"type": "limited", "value": limit})


def quota_consumption(call: Call) -> Answer:
    return Answer(200, {"totalUsage": call.state.usage})
