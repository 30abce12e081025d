"""Coupons in the chat: the customer's coupons (「クーポン」, `my_coupons`), using one at the counter (`use_coupon`
asks first: staff watch the customer tap はい), and benefits: a coupon granted for something the customer did
(email registered, LINE linked), by the campaign BENEFIT_CAMPAIGNS names for it.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.chat.answers import Turn, answer, chat_locale
from bot.chat.dialog_state import DialogState
from bot.inbound.context import Ctx
from bot.offers.coupons import (
    TOKYO,
    IssueOutcome,
    RedeemOutcome,
    coupon_fields,
    find,
    issue,
    normalise_code,
    redeem,
    valid_coupons,
)
from handlers.conversation import ChatListeners, begin, end, move
from models import CouponStatus

log = logging.getLogger(__name__)
chat = ChatListeners()

NAME = chat.dialog("coupon_use", "confirm")
SHOWN = 3  # coupons shown at once (each is a message of its own)
YES = ("はい", "yes", "Yes")


def grant_benefit(turn: Turn, ctx: Ctx, reason: str) -> bool:
    """The coupon of the benefit for `reason`, issued and shown once; True when one was issued now. A reason
    without a campaign, or a campaign not created yet, grants nothing (a log line, never an error)."""
    campaign = ctx.settings.benefit_campaigns.get(reason)
    if campaign is None:
        return False
    issued = issue(ctx.session.connection(), campaign, turn.customer_id, ctx.now)
    if issued.outcome is IssueOutcome.NO_CAMPAIGN:
        log.warning("event row=%s benefit %s: campaign %s does not exist", ctx.event_row_id, reason, campaign)
        return False
    if issued.outcome is IssueOutcome.CAP_REACHED:
        answer(ctx, turn, "chat_coupon.sold_out")
        return False
    if issued.outcome is IssueOutcome.ALREADY:
        return False
    answer(ctx, turn, "chat_coupon.issued", **coupon_fields(issued.coupon, chat_locale(ctx, turn)))
    return True


@chat.command("クーポン", "クーポン確認", "coupon", "coupons")
@chat.action("my_coupons")
def show_coupons(turn: Turn, ctx: Ctx) -> None:
    """The customer's usable coupons, soonest to expire first."""
    end(turn, ctx)
    coupons = valid_coupons(ctx.session.connection(), turn.customer_id, ctx.now)
    if not coupons:
        answer(ctx, turn, "chat_coupon.none")
        return
    for coupon in coupons[:SHOWN]:
        answer(ctx, turn, "chat_coupon.show", **coupon_fields(coupon, chat_locale(ctx, turn)))
    if len(coupons) > SHOWN:
        answer(ctx, turn, "chat_coupon.more", left=len(coupons) - SHOWN)


@chat.action("use_coupon")
def ask_to_use(turn: Turn, ctx: Ctx) -> None:
    """「クーポンを使う」 on a coupon: the customer's own usable coupon is confirmed first; anything else is
    refused with its reason."""
    code = normalise_code(turn.value or "")
    coupon = find(ctx.session.connection(), code=code) if code else None
    if coupon is None or coupon.customer_id != turn.customer_id:
        end(turn, ctx)
        answer(ctx, turn, "chat_coupon.unknown")
        return
    refusal = _refusal(coupon, ctx)
    if refusal:
        end(turn, ctx)
        answer(ctx, turn, f"chat_coupon.{refusal}")
        return
    begin(turn, ctx, NAME, "confirm", code=coupon.code)
    answer(ctx, turn, "chat_coupon.use_confirm", **coupon_fields(coupon, chat_locale(ctx, turn)))


@chat.step(NAME, "confirm")
def confirm_use(turn: Turn, state: DialogState, ctx: Ctx) -> None:
    if turn.action == "confirm" or (turn.text is not None and turn.text.strip() in YES):
        end(turn, ctx)
        used = redeem(ctx.session.connection(), str(state.data["code"]), "chat", ctx.now, turn.customer_id)
        if used.outcome is not RedeemOutcome.REDEEMED:
            answer(ctx, turn, f"chat_coupon.{used.outcome}")
            return
        at = ctx.now.astimezone(TOKYO)
        fields = coupon_fields(used.coupon, chat_locale(ctx, turn))
        answer(ctx, turn, "chat_coupon.redeemed", redeemed_at=f"{at:%Y/%m/%d %H:%M}", **fields)
        return
    if turn.action == "cancel_dialog":
        end(turn, ctx)
        answer(ctx, turn, "chat_coupon.use_cancelled")
        return
    coupon = find(ctx.session.connection(), code=str(state.data["code"]))  # anything else: ask again
    move(turn, ctx, state, "confirm")
    answer(ctx, turn, "chat_coupon.use_confirm", **coupon_fields(coupon, chat_locale(ctx, turn)))


def _refusal(coupon: Any, ctx: Ctx) -> str | None:
    if coupon.status == CouponStatus.REDEEMED:
        return "used"
    if coupon.status == CouponStatus.REVOKED:
        return "revoked"
    return "expired" if coupon.expires_at <= ctx.now else None
