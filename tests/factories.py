"""Builders for LINE webhook payloads, complete enough that the SDK models them, signed exactly as LINE signs."""

from __future__ import annotations

import itertools
import secrets
from typing import Any

from devtools.line_emulator.webhook_sender import event as _event
from devtools.line_emulator.webhook_sender import new_user_id as user_id
from devtools.line_emulator.webhook_sender import new_webhook_event_id as ulid
from devtools.line_emulator.webhook_sender import payload as _payload
from devtools.line_emulator.webhook_sender import sign

__all__ = ["sign", "ulid", "user_id"]

_counter = itertools.count(1)
# An insurer's own sender identity (environment): what a web, worker or release process started outside local mode
# needs instead of the samples it refuses (bot/platform/config.py, 特定電子メール法).
OWN_SENDER_IDENTITY = {
    "SENDER_NAME": "はなまる損害保険株式会社",
    "SENDER_POSTAL_ADDRESS": "〒530-0001 大阪府大阪市北区梅田3-3-3",
    "SENDER_CONTACT": "0120-123-456",
    "MAIL_FROM": "はなまる損保 <info@hanamaru-sonpo.test>",
    "PUBLIC_BASE_URL": "https://engage.hanamaru-sonpo.test",
}
# ... and the key attachments are sealed with (bot/chat/sealing.py): base64 of 32 bytes, required there too
OWN_SERVICE_SETTINGS = OWN_SENDER_IDENTITY | {
    "ATTACHMENT_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
}

# People the tests name by hand (the sample data's and the demo's come from their builders); the log guard
# (tests/log_guard.py) fails a test whose logs hold any of them.
NAMES_TYPED_IN_TESTS = (
    "山田 太郎",
    "山田 花子",
    "佐藤 花子",
    "鈴木 太郎",
    "勅使河原 左衛門三郎",
    "髙橋 﨑子",
    "Taro Yamada",
)


def signed_headers(payload: bytes, secret: str) -> dict[str, str]:
    """The headers LINE sends a webhook with: JSON, and the body's signature under the channel secret."""
    return {"Content-Type": "application/json", "X-Line-Signature": sign(payload, secret)}


def body(*events: dict[str, Any], destination: str = "U" + "0" * 32) -> bytes:
    return _payload(*events, destination=destination)


def base_event(
    event_type: str, uid: str | None = None, *, timestamp: int | None = None, **extra: Any
) -> dict:
    """An event with a timestamp unique within the test run (so ordering between events is defined)."""
    import time

    stamp = timestamp if timestamp is not None else int(time.time() * 1000) + next(_counter)
    return _event(event_type, uid, timestamp=stamp, **extra)


def _reply() -> str:
    return secrets.token_hex(16)


def follow(uid: str, *, unblocked: bool = False, **kw: Any) -> dict:
    return base_event("follow", uid, replyToken=_reply(), follow={"isUnblocked": unblocked}, **kw)


def unfollow(uid: str, **kw: Any) -> dict:
    return base_event("unfollow", uid, **kw)


def text_message(uid: str, text: str = "こんにちは", **kw: Any) -> dict:
    message = {"id": str(next(_counter)), "type": "text", "text": text, "quoteToken": secrets.token_hex(8)}
    return base_event("message", uid, replyToken=_reply(), message=message, **kw)


def postback(uid: str, data: str = "action=menu", **kw: Any) -> dict:
    return base_event("postback", uid, replyToken=_reply(), postback={"data": data}, **kw)


def account_link(uid: str | None, result: str = "ok", nonce: str = "n" * 22, **kw: Any) -> dict:
    if result == "ok":
        return base_event(
            "accountLink", uid, replyToken=_reply(), link={"result": "ok", "nonce": nonce}, **kw
        )
    return base_event("accountLink", None, link={"result": "failed", "nonce": nonce}, **kw)


def every_event_type(uid: str) -> dict[str, dict]:
    """One event of every type LINE documents, keyed by type."""
    group = {"type": "group", "groupId": "C" + secrets.token_hex(16)}
    members = {"members": [{"type": "user", "userId": uid}]}
    return {
        "message": text_message(uid),
        "unsend": base_event("unsend", uid, unsend={"messageId": "325708"}),
        "follow": follow(uid),
        "unfollow": unfollow(uid),
        "join": base_event("join", None, source=group, replyToken=_reply()),
        "leave": base_event("leave", None, source=group),
        "memberJoined": base_event("memberJoined", None, source=group, replyToken=_reply(), joined=members),
        "memberLeft": base_event("memberLeft", None, source=group, left=members),
        "postback": postback(uid),
        "videoPlayComplete": base_event(
            "videoPlayComplete", uid, replyToken=_reply(), videoPlayComplete={"trackingId": "track-1"}
        ),
        "beacon": base_event(
            "beacon", uid, replyToken=_reply(), beacon={"hwid": "d41d8cd98f", "type": "enter"}
        ),
        "accountLink": account_link(uid),
        "membership": base_event(
            "membership", uid, replyToken=_reply(), membership={"type": "joined", "membershipId": 3189}
        ),
        "module": base_event(
            "module", uid, module={"type": "attached", "botId": "U" + "1" * 32, "scopes": ["message:send"]}
        ),
        "activated": base_event("activated", uid, chatControl={"expireAt": 1_900_000_000_000}),
        "deactivated": base_event("deactivated", uid),
        "botSuspended": base_event("botSuspended", None),
        "botResumed": base_event("botResumed", None),
        "delivery": base_event("delivery", uid, delivery={"data": "order-1"}),
        "messageEdited": base_event(
            "messageEdited",
            uid,
            replyToken=_reply(),
            message={"id": "9", "type": "text", "text": "edited", "quoteToken": "q"},
        ),
    }
