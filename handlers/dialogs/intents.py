"""Free text understood (意図理解): a text no command or open dialog took is read by the intent matcher
(bot/chat/intents.py) and goes where a person at the desk would send it.

Most intents start what a button starts: the request forms of the service desk, booking, coupons, ID連携,
email registration, the FAQ's topics (through the chat's registry, so this module imports no other dialog).
A few are answered here: cancelling a contract (what it means, the policyholders' offer, a person), trouble
paying the premium (the options that keep the policy, a person), a visit to change or cancel (the customer's
next booking with its buttons), 配信停止 typed out, thanks and a greeting. A text the matcher is not sure of is
left to "not understood" (the menu and a person).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlalchemy import select

from bot.chat.answers import Turn, answer
from bot.chat.intents import UNKNOWN, matcher
from bot.delivery.consent import opt_out
from bot.delivery.content import format_date
from bot.inbound.context import Ctx
from bot.staff import handovers
from flows.dsl import Channel
from flows.engine import japan_day
from handlers.conversation import ChatListeners, end, normalise
from models import CustomerChannels, Reservation

log = logging.getLogger(__name__)
chat = ChatListeners()
GROUP = "chat_intents"
RESERVATIONS = Reservation.__table__
CHANNELS = CustomerChannels.__table__
OPT_OUT_SOURCE = "line:chat_text"
Route = Callable[[Turn, Ctx], None]


def offer_person(turn: Turn, ctx: Ctx, reason: str) -> None:
    """A person for the customer, the one place the intents reach the hand-over: asked for, one at once (a
    受付番号 and when staff answer); after what the bot could say (a wish to cancel, payment trouble), the offer
    of one, a tap away (bot/staff/handovers.py)."""
    log.info("event row=%s intent hand-off reason=%s", ctx.event_row_id, reason)
    if reason == "asked":
        ctx.handlers.chat.actions["handoff"](replace(turn, action="handoff", value=None), ctx)
    else:
        handovers.offer_person(turn, ctx, reason)


def tap(action: str, value: str | None = None) -> Route:
    """What the button `action` (with `v=value`) does."""

    def route(turn: Turn, ctx: Ctx) -> None:
        ctx.handlers.chat.actions[action](replace(turn, action=action, value=value), ctx)

    route.__doc__ = f"as the button {action}" + (f" ({value})" if value else "")
    return route


def command(word: str) -> Route:
    """What the command `word` does (one that already answers a form's first question: 住所変更)."""

    def route(turn: Turn, ctx: Ctx) -> None:
        ctx.handlers.chat.commands[normalise(word)](turn, ctx)

    route.__doc__ = f"as the command {word}"
    return route


def explain_cancelling(turn: Turn, ctx: Ctx) -> None:
    """解約したい: what cancelling means, the policyholders' offer (#10's), and a person to do it with."""
    end(turn, ctx)
    answer(ctx, turn, f"{GROUP}.cancel_contract")
    answer(ctx, turn, "chat_campaign.offer_churn_prevention")
    offer_person(turn, ctx, "cancel_contract")


def help_with_payment(turn: Turn, ctx: Ctx) -> None:
    """保険料を払えない: the ways to keep the policy while paying is hard (not the payment methods), a person."""
    end(turn, ctx)
    answer(ctx, turn, f"{GROUP}.payment_trouble")
    offer_person(turn, ctx, "payment_trouble")


def ask_for_person(turn: Turn, ctx: Ctx) -> None:
    offer_person(turn, ctx, "asked")


def next_visit(turn: Turn, ctx: Ctx) -> Any | None:
    """The customer's next store visit still to come (not cancelled, not visited)."""
    statement = (
        select(RESERVATIONS.c.reservation_code, RESERVATIONS.c.visit_on)
        .where(
            RESERVATIONS.c.customer_id == turn.customer_id,
            RESERVATIONS.c.cancelled.is_not(True),
            RESERVATIONS.c.visited.is_not(True),
            RESERVATIONS.c.visit_on >= japan_day(ctx.effective_time),
        )
        .order_by(RESERVATIONS.c.visit_on, RESERVATIONS.c.id)
        .limit(1)
    )
    return ctx.session.connection().execute(statement).first()


def visit_answer(template: str) -> Route:
    """The customer's next visit with its buttons (their data names it), or the offer to book one."""

    def route(turn: Turn, ctx: Ctx) -> None:
        end(turn, ctx)
        visit = next_visit(turn, ctx)
        if visit is None:
            answer(ctx, turn, f"{GROUP}.no_reservation")
            return
        day = format_date(visit.visit_on, ctx.settings.default_locale)
        answer(ctx, turn, f"{GROUP}.{template}", visit_date=day, reservation_code=visit.reservation_code)

    route.__doc__ = f"the next visit ({template})"
    return route


def stop_messages(turn: Turn, ctx: Ctx) -> None:
    """配信停止 typed out: the same opt-out as the 配信停止 button (marketing on LINE stops, notices do not)."""
    end(turn, ctx)
    connection = ctx.session.connection()
    customers = connection.execute(
        select(CHANNELS.c.customer_id).where(CHANNELS.c.line_user_id == turn.user_id)
    ).scalars()
    for customer_id in customers:
        changed = opt_out(
            connection, customer_id, Channel.LINE, OPT_OUT_SOURCE, ctx.effective_time, ctx.evidence
        )
        log.info(
            "event row=%s customer=%s line opt-out by text changed=%s", ctx.event_row_id, customer_id, changed
        )
    answer(ctx, turn, "chat.opted_out")


def say(template: str) -> Route:
    def route(turn: Turn, ctx: Ctx) -> None:
        answer(ctx, turn, f"{GROUP}.{template}")

    route.__doc__ = f"answer {GROUP}.{template}"
    return route


# where each intent of locales/messages/chat_intents.*.yml leads (tests/unit/test_intents.py: all have one)
ROUTES: dict[str, Route] = {
    "address_change": command("住所変更"),
    "name_change": command("氏名変更"),
    "accident": tap("accident_report"),
    "policy_reissue": tap("policy_reissue"),
    "deduction_certificate": tap("deduction_reissue"),
    "complaint": tap("complaint"),
    "cancel_contract": explain_cancelling,
    "booking": command("来店予約"),
    "reschedule": visit_answer("reschedule_which"),
    "cancel_booking": visit_answer("cancel_which"),
    "payment_method": tap("faq", "payment"),
    "payment_trouble": help_with_payment,
    "coupon": tap("my_coupons"),
    "link_account": tap("link_account"),
    "unlink_account": tap("unlink_account"),
    "email_register": tap("register_email"),
    "human": ask_for_person,
    "stop_messages": stop_messages,
    "thanks": say("thanks"),
    "greeting": say("greeting"),
    "faq_accident": tap("faq", "accident"),
    "faq_claim": tap("faq", "claim"),
    "faq_bank_account": tap("faq", "bank_account"),
    "faq_contract_status": tap("faq", "contract_status"),
    "faq_customer_id": tap("faq", "customer_id"),
    "faq_hours": tap("faq", "hours"),
    "faq_procedures": tap("faq", "procedures"),
    "my_requests": tap("my_requests"),
    "menu": tap("menu"),
}


@chat.fallback
def answer_intent(turn: Turn, ctx: Ctx) -> bool:
    """A free text the matcher understands goes where its intent leads; False leaves it "not understood"."""
    guess = matcher().match(turn.text or "")
    log.info("event row=%s intent=%s score=%.2f", ctx.event_row_id, guess.intent, guess.score)
    if guess.intent == UNKNOWN:
        return False
    ROUTES[guess.intent](turn, ctx)
    return True
