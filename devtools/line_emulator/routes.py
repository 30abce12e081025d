"""The emulated endpoints: name, HTTP method, path (exactly as in messaging-api.yml) and handler.

Endpoint names (``"push"``, ``"profile"``, …) are what ``LineEmulator.inject`` accepts besides path
prefixes.  Only the four endpoints in ``RETRY_KEY_ENDPOINTS`` accept ``X-Line-Retry-Key``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from werkzeug.routing import Map, Rule

from devtools.line_emulator import messages, resources
from devtools.line_emulator.calls import Answer, Call


@dataclass(frozen=True)
class Endpoint:
    """One emulated operation of the Messaging API."""

    name: str
    method: str
    path: str
    handler: Callable[[Call], Answer]


_V = "/v2/bot"
ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("reply", "POST", f"{_V}/message/reply", messages.reply),
    Endpoint("push", "POST", f"{_V}/message/push", messages.push),
    Endpoint("multicast", "POST", f"{_V}/message/multicast", messages.multicast),
    Endpoint("narrowcast", "POST", f"{_V}/message/narrowcast", messages.narrowcast),
    Endpoint("broadcast", "POST", f"{_V}/message/broadcast", messages.broadcast),
    Endpoint("narrowcast_progress", "GET", f"{_V}/message/progress/narrowcast", messages.narrowcast_progress),
    *(
        Endpoint(f"validate_{kind}", "POST", f"{_V}/message/validate/{kind}", messages.validate_messages)
        for kind in ("reply", "push", "multicast", "narrowcast", "broadcast")
    ),
    Endpoint("quota", "GET", f"{_V}/message/quota", messages.quota),
    Endpoint("quota_consumption", "GET", f"{_V}/message/quota/consumption", messages.quota_consumption),
    Endpoint("message_content", "GET", f"{_V}/message/{{messageId}}/content", resources.message_content),
    Endpoint(
        "message_content_transcoding",
        "GET",
        f"{_V}/message/{{messageId}}/content/transcoding",
        resources.message_content_transcoding,
    ),
    Endpoint("profile", "GET", f"{_V}/profile/{{userId}}", resources.profile),
    Endpoint("link_token", "POST", f"{_V}/user/{{userId}}/linkToken", resources.link_token),
    Endpoint("loading", "POST", f"{_V}/chat/loading/start", resources.loading),
    Endpoint("mark_as_read", "POST", f"{_V}/chat/markAsRead", resources.mark_as_read),
    Endpoint("richmenu_create", "POST", f"{_V}/richmenu", resources.richmenu_create),
    Endpoint("richmenu_list", "GET", f"{_V}/richmenu/list", resources.richmenu_list),
    Endpoint("richmenu_get", "GET", f"{_V}/richmenu/{{richMenuId}}", resources.richmenu_get),
    Endpoint("richmenu_delete", "DELETE", f"{_V}/richmenu/{{richMenuId}}", resources.richmenu_delete),
    Endpoint("richmenu_image", "POST", f"{_V}/richmenu/{{richMenuId}}/content", resources.richmenu_image),
    Endpoint(
        "default_richmenu_set", "POST", f"{_V}/user/all/richmenu/{{richMenuId}}", resources.user_richmenu_link
    ),
    Endpoint("default_richmenu_get", "GET", f"{_V}/user/all/richmenu", resources.user_richmenu_get),
    Endpoint("default_richmenu_cancel", "DELETE", f"{_V}/user/all/richmenu", resources.user_richmenu_unlink),
    Endpoint(
        "user_richmenu_link",
        "POST",
        f"{_V}/user/{{userId}}/richmenu/{{richMenuId}}",
        resources.user_richmenu_link,
    ),
    Endpoint("user_richmenu_get", "GET", f"{_V}/user/{{userId}}/richmenu", resources.user_richmenu_get),
    Endpoint(
        "user_richmenu_unlink", "DELETE", f"{_V}/user/{{userId}}/richmenu", resources.user_richmenu_unlink
    ),
    Endpoint("coupon_create", "POST", f"{_V}/coupon", resources.coupon_create),
    Endpoint("coupon_list", "GET", f"{_V}/coupon", resources.coupon_list),
    Endpoint("coupon_get", "GET", f"{_V}/coupon/{{couponId}}", resources.coupon_get),
    Endpoint("coupon_close", "PUT", f"{_V}/coupon/{{couponId}}/close", resources.coupon_close),
)

RETRY_KEY_ENDPOINTS = frozenset({"push", "multicast", "narrowcast", "broadcast"})
BY_NAME: dict[str, Endpoint] = {e.name: e for e in ENDPOINTS}


def _rule_path(path: str) -> str:
    return re.sub(r"\{(\w+)\}", r"<\1>", path)


def build_map() -> Map:
    """A werkzeug URL map of all endpoints (``strict_slashes`` off: no redirects)."""
    return Map(
        [Rule(_rule_path(e.path), endpoint=e.name, methods=[e.method]) for e in ENDPOINTS],
        strict_slashes=False,
        merge_slashes=False,
    )
