"""The buttons messages carry on LINE (quick replies): what each named action does — a postback the chat answers,
LINE's date-time picker, or a page — and how one is built from its label and the message's token."""

from __future__ import annotations

from typing import Any

from bot.platform.i18n import fixed_text

# what each button does on LINE: LINE's date-time picker (予約・日程変更), a page whose address the answer carries
# (`<name>_url` among its merge fields), an answer typed for the customer (はい／いいえ, a choice's number: the
# dialog reads it as if typed), or a postback the chat answers (`a=<name>`, with `v=<name>_value`)
DATETIME = ("book", "reschedule")
URI = ("login",)
CHOICES = tuple(f"choice_{number}" for number in range(1, 10))  # labelled "1. 住所" …, they type "1"
MESSAGE = ("answer_yes", "answer_no", *CHOICES)
LABEL_LIMIT = 20  # LINE's longest quick-reply label
POSTBACK = (
    "cancel_reservation",
    "request_documents",
    "request_quote",
    "offer",
    "coupon",
    "refer",
    "link_account",
    "unlink_account",
    "register_email",
    "contact",
    "menu",
    "service_menu",
    "handoff",
    "confirm",
    "change",
    "cancel_dialog",
    "address_change",
    "accident_report",
    "policy_reissue",
    "deduction_reissue",
    "complaint",
    "faq",
    "use_coupon",
    "my_coupons",
    "my_requests",
    "skip",
    "attachments_done",  # photos, videos and files sent with a request: that is all
    "enter_code",
    "admin_broadcast_confirm",  # the admin chat: a broadcast's dry run (送信する, やめる)
    "admin_broadcast_drop",
    "admin_privacy_approve",  # the admin chat: a disclosure or erasure request (承認する, 却下する)
    "admin_privacy_reject",
    "language",  # the chat's language: asks which, or sets it
    "use_japanese",
    "use_english",
)
ACTIONS = (
    {name: "datetimepicker" for name in DATETIME}
    | {name: "uri" for name in URI}
    | dict.fromkeys(MESSAGE, "message")
    | dict.fromkeys(POSTBACK, "postback")
)


def button(name: str, token: str | None, locale: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """One quick-reply item: its label from `delivery.actions.<name>`, its data naming the message tapped."""
    fields = fields or {}
    if ACTIONS[name] == "message":
        return _typed(name, locale, fields)
    label = fixed_text(f"delivery.actions.{name}", locale)
    if ACTIONS[name] == "uri":
        return {
            "type": "action",
            "action": {"type": "uri", "label": label, "uri": str(fields[f"{name}_url"])},
        }
    data = f"a={name}" + (f"&t={token}" if token else "")
    if fields.get(f"{name}_value") is not None:
        data += f"&v={fields[f'{name}_value']}"
    if ACTIONS[name] == "datetimepicker":
        action = {"type": "datetimepicker", "label": label, "data": data, "mode": "datetime"}
    else:
        action = {"type": "postback", "label": label, "data": data, "displayText": label}
    return {"type": "action", "action": action}


def _typed(name: str, locale: str, fields: dict[str, Any]) -> dict[str, Any]:
    """An answer the tap types for the customer: はい／いいえ as shown, a choice as its number."""
    label = str(fields.get(f"{name}_label") or fixed_text(f"delivery.actions.{name}", locale))
    typed = name.removeprefix("choice_") if name in CHOICES else label
    return {"type": "action", "action": {"type": "message", "label": label[:LABEL_LIMIT], "text": typed}}
