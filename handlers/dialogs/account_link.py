"""ID連携 in the chat (#21's goal): offering the link (「連携」, `link_account`), completing it when LINE's
`accountLink` event brings our nonce back, and unlinking (`unlink_account`, confirmed first), which LINE asks
every service to allow at all times. Linking grants the link benefit (a coupon); 「クーポンを受け取る」 on a
campaign message leads there when linking is what the coupon waits for.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from bot.chat.account_link import (
    bind,
    bind_conflict,
    consume_nonce,
    is_linked,
    issue_link_token,
    link_pending,
    login_url,
    unbind,
)
from bot.chat.answers import Turn, answer
from bot.chat.dialog_state import DialogState
from bot.chat.link_login import record_refusal, remember_link_token
from bot.chat.richmenus import switch_after_commit
from bot.inbound.context import Ctx
from bot.offers.coupons import valid_coupons
from bot.scenarios.journeys import linked_journeys
from bot.staff.desk import notify_staff
from handlers.conversation import ChatListeners, begin, end, move
from handlers.dialogs.coupons import grant_benefit, show_coupons
from handlers.follow import mark_line_friend

log = logging.getLogger(__name__)
chat = ChatListeners()

UNLINK = chat.dialog("account_unlink", "confirm")
YES = ("はい", "yes", "Yes")


@chat.command("連携", "ID連携", "LINE連携", "link")
@chat.action("link_account")
def offer_link(turn: Turn, ctx: Ctx) -> None:
    """A link token from LINE and our login page's address as a `login` button, with the unlink notice."""
    end(turn, ctx)
    if is_linked(ctx.session.connection(), turn.user_id):
        answer(ctx, turn, "chat_link.already_linked")
        return
    token = issue_link_token(ctx.settings, turn.user_id)
    if token is None:
        answer(ctx, turn, "chat_link.unavailable")
        return
    remember_link_token(ctx.session.connection(), token, turn.user_id, ctx.now)  # the page takes no other
    answer(ctx, turn, "chat_link.offer", login_url=login_url(ctx.settings, token))


@chat.action("coupon")
def claim_coupon(turn: Turn, ctx: Ctx) -> None:
    """「クーポンを受け取る」 on a campaign message (#17, #21): the customer's coupons; for someone whose coupon
    comes with linking (#21's link-only coupon), the link."""
    connection = ctx.session.connection()
    if not valid_coupons(connection, turn.customer_id, ctx.now) and link_pending(
        connection, turn.user_id, turn.customer_id
    ):
        offer_link(turn, ctx)
        return
    show_coupons(turn, ctx)


def complete_link(turn: Turn, ctx: Ctx, nonce: str) -> None:
    """`accountLink` with result ok: the nonce (once, unexpired, issued for this LINE user's link token) names
    the customer who proved who they are; the LINE address moves to them, and they are answered and given the
    link benefit. A customer linked to another LINE user (or a LINE user linked to another customer) is never
    re-bound: the customer is told how to go on and staff are told. Anything else is refused."""
    connection = ctx.session.connection()
    customer_id = consume_nonce(connection, nonce, turn.user_id, ctx.effective_time, ctx.now)
    if customer_id is None:
        log.info(
            "event row=%s account link refused (nonce unknown, used, expired or not this user's)",
            ctx.event_row_id,
        )
        record_refusal(connection, "link_bind", "nonce", ctx.now)
        answer(ctx, turn, "chat_link.refused")
        return
    conflict = bind_conflict(connection, turn.user_id, customer_id)
    if conflict is not None:
        log.info(
            "event row=%s account link refused for customer=%s: %s", ctx.event_row_id, customer_id, conflict
        )
        record_refusal(connection, "link_bind", conflict, ctx.now, customer_id=customer_id)
        end(turn, ctx)
        answer(ctx, turn, f"chat_link.conflict_{conflict}")
        notify_staff(ctx, "link_conflict", customer_id, f"chat_link.staff_{conflict}")
        return
    scenarios = ctx.settings.scenarios
    bind(connection, turn.user_id, customer_id, ctx.effective_time, ctx.now, ctx.evidence, scenarios)
    switch_after_commit(ctx.session, customer_id)  # the policyholder's rich menu
    mark_line_friend(connection, [customer_id], ctx.now)
    linked_journeys(connection, ctx.settings, customer_id, ctx.effective_time)
    end(turn, ctx)
    log.info("event row=%s account linked customer=%s", ctx.event_row_id, customer_id)
    linked = replace(turn, customer_id=customer_id)  # the answers go to the customer now holding the address
    answer(ctx, linked, "chat_link.done")
    grant_benefit(linked, ctx, "line_linked")


@chat.command("連携解除", "ID連携解除", "LINE連携解除", "unlink")
@chat.action("unlink_account")
def ask_to_unlink(turn: Turn, ctx: Ctx) -> None:
    if not is_linked(ctx.session.connection(), turn.user_id):
        end(turn, ctx)
        answer(ctx, turn, "chat_link.not_linked")
        return
    begin(turn, ctx, UNLINK, "confirm")
    answer(ctx, turn, "chat_link.unlink_confirm")


@chat.step(UNLINK, "confirm")
def confirm_unlink(turn: Turn, state: DialogState, ctx: Ctx) -> None:
    if turn.action == "confirm" or (turn.text is not None and turn.text.strip() in YES):
        end(turn, ctx)
        prospect = unbind(ctx.session.connection(), turn.user_id, ctx.effective_time, ctx.now, ctx.evidence)
        if prospect is None:  # unlinked meanwhile (another device)
            answer(ctx, turn, "chat_link.not_linked")
            return
        mark_line_friend(ctx.session.connection(), [prospect], ctx.now)
        switch_after_commit(ctx.session, prospect)  # back to the prospect's (default) menu
        log.info("event row=%s account unlinked customer=%s", ctx.event_row_id, turn.customer_id)
        answer(ctx, replace(turn, customer_id=prospect), "chat_link.unlinked")
        return
    if turn.action == "cancel_dialog":
        end(turn, ctx)
        answer(ctx, turn, "chat_link.unlink_cancelled")
        return
    move(turn, ctx, state, "confirm")
    answer(ctx, turn, "chat_link.unlink_confirm")
