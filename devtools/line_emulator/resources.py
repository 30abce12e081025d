"""Route handlers for users and resources: profile, link token, loading animation, mark-as-read,
rich menus (create/get/delete/list/image, per-user and default links), coupons, and the content users sent
(photos, videos, files: `GET /v2/bot/message/{messageId}/content` and its `/transcoding` status).

Bodies are schema-validated before these run.  Coupons are RUNNING when created and CLOSED after
``close`` (closing twice is 410); listing pages through them in creation order.
"""

from __future__ import annotations

import secrets

from devtools.line_emulator.calls import NOT_FOUND, Answer, Call, detail_error, error
from devtools.line_emulator.state import USER_ID

MAX_RICH_MENUS = 1000
MAX_RICH_MENU_IMAGE = 1024 * 1024
COUPON_STATUSES = ("DRAFT", "RUNNING", "CLOSED")
NO_RICH_MENU = {"message": "the user has no richmenu"}
RICH_MENU_NOT_FOUND = {"message": "richmenu not found"}


def _is_friend_user(call: Call, user_id: str) -> bool:
    """A friend with a user id (valid-looking, or explicitly registered) rather than a group/room."""
    with call.state.lock:
        registered = user_id in call.state.data.users
    return call.state.user_status(user_id) == "friend" and (bool(USER_ID.match(user_id)) or registered)


def profile(call: Call) -> Answer:
    user_id = call.args["userId"]
    if not _is_friend_user(call, user_id):
        return Answer(404, dict(NOT_FOUND))
    return Answer(200, call.state.user(user_id).profile())


def link_token(call: Call) -> Answer:
    user_id = call.args["userId"]
    if not _is_friend_user(call, user_id):
        return error(400, "Failed to issue a link token: the user isn't a friend of this account")
    return Answer(200, {"linkToken": call.state.issue_link_token(user_id)})


def loading(call: Call) -> Answer:
    chat_id = call.body["chatId"]
    if not _is_friend_user(call, chat_id) and not USER_ID.match(chat_id):
        return detail_error("Only one-on-one chats with a user are supported", "chatId")
    return Answer(202, {})


def mark_as_read(call: Call) -> Answer:
    return Answer(200, {})


# rich menus -----------------------------------------------------------------------------------
def richmenu_create(call: Call) -> Answer:
    with call.state.lock:
        if len(call.state.data.rich_menus) >= MAX_RICH_MENUS:
            return error(400, "The maximum number of rich menus has been reached")
        menu_id = "richmenu-" + secrets.token_hex(16)
        call.state.data.rich_menus[menu_id] = {"richMenuId": menu_id, **call.body}
    return Answer(200, {"richMenuId": menu_id})


def richmenu_get(call: Call) -> Answer:
    with call.state.lock:
        menu = call.state.data.rich_menus.get(call.args["richMenuId"])
    if menu is None:
        return Answer(404, dict(RICH_MENU_NOT_FOUND))
    return Answer(200, {k: v for k, v in menu.items() if not k.startswith("_")})


def richmenu_delete(call: Call) -> Answer:
    menu_id = call.args["richMenuId"]
    with call.state.lock:
        if call.state.data.rich_menus.pop(menu_id, None) is None:
            return Answer(404, dict(RICH_MENU_NOT_FOUND))
        links = call.state.data.user_rich_menus
        for user_id in [u for u, m in links.items() if m == menu_id]:
            del links[user_id]
    return Answer(200, {})


def richmenu_list(call: Call) -> Answer:
    with call.state.lock:
        menus = [
            {k: v for k, v in m.items() if not k.startswith("_")} for m in call.state.data.rich_menus.values()
        ]
    return Answer(200, {"richmenus": menus})


def richmenu_image(call: Call) -> Answer:
    if call.content_type not in ("image/jpeg", "image/png"):
        return error(415, "Unsupported media type; use image/jpeg or image/png")
    if not call.raw or len(call.raw) > MAX_RICH_MENU_IMAGE:
        return error(400, "The image must be between 1 byte and 1 MB")
    with call.state.lock:
        menu = call.state.data.rich_menus.get(call.args["richMenuId"])
        if menu is None:
            return Answer(404, dict(RICH_MENU_NOT_FOUND))
        if menu.get("_image"):
            return error(400, "An image has already been uploaded to the richmenu")
        menu["_image"] = call.content_type
    return Answer(200, {})


def user_richmenu_link(call: Call) -> Answer:
    user_id, menu_id = call.args.get("userId", "all"), call.args["richMenuId"]
    with call.state.lock:
        if menu_id not in call.state.data.rich_menus:
            return Answer(404, dict(RICH_MENU_NOT_FOUND))
        if user_id == "all" or _is_friend_user(call, user_id):  # non-friends: 200, nothing linked
            call.state.data.user_rich_menus[user_id] = menu_id
    return Answer(200, {})


def user_richmenu_get(call: Call) -> Answer:
    with call.state.lock:
        menu_id = call.state.data.user_rich_menus.get(call.args.get("userId", "all"))
    if menu_id is None:
        return Answer(404, dict(NO_RICH_MENU if "userId" in call.args else NOT_FOUND))
    return Answer(200, {"richMenuId": menu_id})


def user_richmenu_unlink(call: Call) -> Answer:
    with call.state.lock:
        call.state.data.user_rich_menus.pop(call.args.get("userId", "all"), None)
    return Answer(200, {})


# coupons --------------------------------------------------------------------------------------
def _with_currency(reward: dict) -> dict:
    reward = dict(reward)
    price = reward.get("priceInfo")
    if isinstance(price, dict) and price.get("type") in ("fixed", "explicit"):
        reward["priceInfo"] = {**price, "currency": price.get("currency", "JPY")}
    return reward


def coupon_create(call: Call) -> Answer:
    body = call.body
    if body["endTimestamp"] <= body["startTimestamp"]:
        return detail_error("Must be later than startTimestamp", "endTimestamp")
    condition = body["acquisitionCondition"]
    coupon = {
        **body,
        "couponId": "COUPON_" + secrets.token_hex(12),
        "status": "RUNNING",
        "createdTimestamp": int(call.state.clock.now()),
        "maxTicketPerUser": 1,
        "maxAcquireCount": condition.get("maxAcquireCount", -1),
    }
    if "reward" in body:
        coupon["reward"] = _with_currency(body["reward"])
    with call.state.lock:
        call.state.data.coupons[coupon["couponId"]] = coupon
    return Answer(200, {"couponId": coupon["couponId"]})


def coupon_list(call: Call) -> Answer:
    statuses = [s for value in call.query.getlist("status") for s in value.split(",") if s]
    if any(s not in COUPON_STATUSES for s in statuses):
        return detail_error(f"Must be one of the following values: [{', '.join(COUPON_STATUSES)}]", "status")
    try:
        limit = int(call.query.get("limit", "20"))
        start = int(call.query.get("start", "0"))
    except ValueError:
        return detail_error("Invalid number", "limit" if "limit" in call.query else "start")
    if start < 0:
        return detail_error("Invalid start token", "start")
    if not 1 <= limit <= 100:
        return detail_error("Value must be between 1 and 100", "limit")
    with call.state.lock:
        coupons = [c for c in call.state.data.coupons.values() if not statuses or c["status"] in statuses]
    page = coupons[start : start + limit]
    body: dict = {"items": [{"couponId": c["couponId"], "title": c["title"]} for c in page]}
    if start + limit < len(coupons):
        body["next"] = str(start + limit)
    return Answer(200, body)


def coupon_get(call: Call) -> Answer:
    with call.state.lock:
        coupon = call.state.data.coupons.get(call.args["couponId"])
    return Answer(200, dict(coupon)) if coupon else Answer(404, dict(NOT_FOUND))


def coupon_close(call: Call) -> Answer:
    with call.state.lock:
        coupon = call.state.data.coupons.get(call.args["couponId"])
        if coupon is None:
            return Answer(404, dict(NOT_FOUND))
        if coupon["status"] == "CLOSED":
            return error(410, "The coupon has already been closed")
        coupon["status"] = "CLOSED"
    return Answer(200, {})


# ── content users sent (api-data.line.me): photos, videos, audio and files ──────────────────────────────────────────
def message_content(call: Call) -> Answer:
    """The bytes of a message's content; 404 for an id LINE never issued; 202 (no body) while a video or audio is
    still being prepared, 404 when its preparation failed."""
    content = call.state.content(call.args["messageId"])
    if content is None or content.transcoding == "failed":
        return Answer(404, dict(NOT_FOUND))
    if content.transcoding == "processing":
        return Answer(202, raw=b"", content_type="text/plain")
    return Answer(200, raw=content.data, content_type=content.content_type)


def message_content_transcoding(call: Call) -> Answer:
    """`{"status": "processing" | "succeeded" | "failed"}` for content the emulator issued; 404 otherwise."""
    content = call.state.content(call.args["messageId"])
    if content is None:
        return Answer(404, dict(NOT_FOUND))
    return Answer(200, {"status": content.transcoding})
