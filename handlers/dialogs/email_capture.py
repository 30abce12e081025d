"""Email capture in the chat (#20's goal): ask for the address, check it, confirm it, store it with the
customer's permission, and grant the registration benefit.

Wrong input gets a reply that says what is wrong and asks again; the dialog ends after three wrong tries or
when the customer stops it; an idle dialog times out (DIALOG_IDLE_MINUTES).
"""

from __future__ import annotations

from sqlalchemy import insert, update

from bot.chat.answers import Turn, answer
from bot.chat.dialog_state import DialogState
from bot.delivery.consent import consent_row
from bot.imports.values import EmailProblem, typed_email
from bot.inbound.context import Ctx
from bot.scenarios.journeys import start_journeys
from flows.dsl import Channel, Event
from handlers.conversation import ChatListeners, begin, end, move
from handlers.dialogs.coupons import grant_benefit
from models import ConsentEvent, CustomerActivity, CustomerChannels

chat = ChatListeners()
NAME = chat.dialog("email_capture", "ask", "confirm")
MAX_TRIES = 3
CHANNELS = CustomerChannels.__table__
ACTIVITY = CustomerActivity.__table__
SOURCE = "line:email_capture"


@chat.command("メール登録", "メールアドレス登録", "email")
@chat.action("register_email")
def ask_for_email(turn: Turn, ctx: Ctx) -> None:
    begin(turn, ctx, NAME, "ask", tries=0)
    answer(ctx, turn, "chat.email_ask")


@chat.step(NAME, "ask")
def read_email(turn: Turn, state: DialogState, ctx: Ctx) -> None:
    if turn.action == "cancel_dialog":
        return stop(turn, ctx)
    if turn.text is None:
        answer(ctx, turn, "chat.email_ask")
        return
    try:
        email = typed_email(turn.text)  # full-width as a Japanese IME types it is accepted
    except EmailProblem as problem:
        tries = int(state.data.get("tries", 0)) + 1
        if tries >= MAX_TRIES:
            end(turn, ctx)
            answer(ctx, turn, "chat.email_given_up")
            return
        move(turn, ctx, state, "ask", tries=tries)
        hint = (
            "chat_contact.email_no_domain_suffix"
            if problem.reason == "no_domain_suffix"
            else "chat.email_invalid"
        )
        answer(ctx, turn, hint, left=MAX_TRIES - tries)
        return
    move(turn, ctx, state, "confirm", email=email)
    answer(ctx, turn, "chat.email_confirm", email=email)


@chat.step(NAME, "confirm")
def confirm_email(turn: Turn, state: DialogState, ctx: Ctx) -> None:
    if turn.action == "confirm" or (turn.text is not None and turn.text.strip() in ("はい", "yes", "Yes")):
        return store(turn, state, ctx)
    if turn.action == "cancel_dialog":
        return stop(turn, ctx)
    if turn.action == "change":
        move(turn, ctx, state, "ask")
        answer(ctx, turn, "chat.email_ask")
        return
    read_email(turn, NAME.at("ask", state.data), ctx)  # a new address typed instead of "はい"


def store(turn: Turn, state: DialogState, ctx: Ctx) -> None:
    """The address becomes the customer's main email with marketing permission (they asked for it here)."""
    connection = ctx.session.connection()
    email = str(state.data["email"])
    connection.execute(
        update(CHANNELS)
        .where(CHANNELS.c.customer_id == turn.customer_id)
        .values(email_main=email, email_permitted=True, updated_at=ctx.now)
    )
    connection.execute(
        insert(ConsentEvent.__table__).values(
            consent_row(turn.customer_id, Channel.EMAIL, True, ctx.effective_time, SOURCE, ctx.evidence)
        )
    )
    _mark_acquired(ctx, turn.customer_id)
    start_journeys(connection, ctx.settings, Event.EMAIL_REGISTERED, turn.customer_id, ctx.effective_time)
    end(turn, ctx)
    answer(ctx, turn, "chat.email_done", email=email)
    grant_benefit(turn, ctx, "email_registered")  # the registration benefit (a coupon), once


def _mark_acquired(ctx: Ctx, customer_id: int) -> None:
    """メールアドレス取得フラグ: #20's goal, so its enrollment ends at the next wake-up."""
    connection = ctx.session.connection()
    changed = connection.execute(
        update(ACTIVITY)
        .where(ACTIVITY.c.customer_id == customer_id)
        .values(email_acquired=True, updated_at=ctx.now)
    ).rowcount
    if not changed:
        connection.execute(
            insert(ACTIVITY).values(customer_id=customer_id, email_acquired=True, updated_at=ctx.now)
        )


def stop(turn: Turn, ctx: Ctx) -> None:
    end(turn, ctx)
    answer(ctx, turn, "chat.email_cancelled")
