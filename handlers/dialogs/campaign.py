"""What the other buttons of scenario messages do in the chat: see the offer (特典を見る), request documents
(資料請求) or a quote (見積もり依頼), and refer a friend (友だち紹介, #19).

- offer: the offer of the scenario that sent the message tapped (`chat_campaign.offer_<scenario>`), or the
  general campaign offer, with the campaign page.
- request_documents / request_quote: which product (a numbered list from the catalogue, typed back as a number
  or a name; 0 for "not decided"), for documents the email address when none is on file, a confirmation, then
  a document request (資料請求, `LINE-…`, today) or, for a chosen product, a quote (見積) that staff send. Both
  mark customer data changed, so #1 / #3 follow up the next day. A quote without a product is handed to staff.
- refer: the customer's referral code and a message to forward to friends; a friend types 「紹介コード XXXXXX」
  (or taps 紹介コードを入力 and types it): bot/offers/referrals.py records and later credits it.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from sqlalchemy import insert, select, update

from bot.chat.answers import Turn, answer, choice_labels
from bot.chat.dialog_state import DialogState
from bot.customers.facts import anchor_code
from bot.imports.values import EmailProblem, typed_email
from bot.inbound.context import Ctx
from bot.offers.referrals import Entry, code_for, normalise_code, record_referral
from bot.platform.i18n import template_keys
from bot.scenarios.triggers import mark_data_changed
from flows.dsl import Anchor
from flows.engine import japan_day
from handlers.conversation import ChatListeners, begin, end, move, normalise
from handlers.dialogs.reservations import YES, claim, new_code
from handlers.dialogs.tapped import tapped
from models import CustomerChannels, DocumentRequest, Product, ProductType, Quote

log = logging.getLogger(__name__)
chat = ChatListeners()
REQUEST = chat.dialog("campaign_request", "product", "email", "confirm")
REFERRAL = chat.dialog("referral_code", "code")
MAX_TRIES = 3
MAX_CHOICES = 12
CHANNELS = CustomerChannels.__table__
PRODUCTS = Product.__table__
TYPES = ProductType.__table__
CODE_TYPED = re.compile(r"^(?:紹介コード|referral code)\s*[:：は]?\s*(.+)$")
CODE_LIKE = re.compile(r"^[A-Z0-9]{4,16}$")


# ── offer ──────────────────────────────────────────────────────────────────────────────────────────────────
@chat.action("offer")
def show_offer(turn: Turn, ctx: Ctx) -> None:
    """The offer of the scenario whose message was tapped; the general one for anything else."""
    found = tapped(ctx, turn)
    scenario = found.scenario_id if found else None
    specific = f"chat_campaign.offer_{scenario}"
    template = specific if scenario and specific in template_keys(ctx.settings.default_locale) else None
    code = ""
    if found and found.anchor_key and found.anchor_key.startswith(f"{Anchor.RESERVATION}:"):
        code = anchor_code(found.anchor_key)  # its book button then books at that reservation's store
    answer(ctx, turn, template or "chat_campaign.offer", reservation_code=code)


# ── document and quote requests ────────────────────────────────────────────────────────────────────────────
@chat.command("資料請求", "request documents")
@chat.action("request_documents")
def request_documents(turn: Turn, ctx: Ctx) -> None:
    _start(turn, ctx, "documents")


@chat.command("見積もり", "見積もり依頼", "request a quote")
@chat.action("request_quote")
def request_quote(turn: Turn, ctx: Ctx) -> None:
    _start(turn, ctx, "quote")


def _start(turn: Turn, ctx: Ctx, kind: str) -> None:
    choices = _catalogue(ctx)
    state = begin(turn, ctx, REQUEST, "product", kind=kind, choices=choices, tries=0)
    if not choices:  # an empty catalogue: nothing to choose from
        return _chosen(turn, ctx, state, None)
    _ask_product(turn, ctx, state)


def _catalogue(ctx: Ctx) -> list[list[str | None]]:
    """[[product code, type code, name]]: the products, or their types when there are too many to list."""
    connection = ctx.session.connection()
    products = connection.execute(
        select(PRODUCTS.c.code, PRODUCTS.c.product_type_code, PRODUCTS.c.name)
        .order_by(PRODUCTS.c.product_type_code, PRODUCTS.c.code)
        .limit(MAX_CHOICES + 1)
    ).all()
    if len(products) <= MAX_CHOICES:
        return [[code, kind, name or code] for code, kind, name in products]
    types = connection.execute(select(TYPES.c.code, TYPES.c.name).order_by(TYPES.c.code).limit(MAX_CHOICES))
    return [[None, code, name or code] for code, name in types]


def _ask_product(turn: Turn, ctx: Ctx, state: DialogState, wrong: bool = False) -> None:
    lines = [f"{n}. {choice[2]}" for n, choice in enumerate(state.data["choices"], start=1)]
    name = f"chat_campaign.{state.data['kind']}_product" + ("_invalid" if wrong else "")
    answer(ctx, turn, name, choices="\n".join(lines), **choice_labels(lines))


@chat.step(REQUEST, "product")
def read_product(turn: Turn, state: DialogState, ctx: Ctx) -> None:
    if turn.action == "cancel_dialog":
        return _stop(turn, ctx)
    choices: list[list[Any]] = state.data["choices"]
    if turn.action == "skip":  # not decided yet
        return _chosen(turn, ctx, state, None)
    picked = _pick(turn.text or "", choices)
    if picked is None:
        tries = int(state.data.get("tries", 0)) + 1
        if tries >= MAX_TRIES:
            end(turn, ctx)
            answer(ctx, turn, "chat_campaign.request_given_up")
            return
        _ask_product(turn, ctx, move(turn, ctx, state, "product", tries=tries), wrong=bool(turn.text))
        return
    _chosen(turn, ctx, state, choices[picked - 1] if picked else None)


def _pick(text: str, choices: list[list[Any]]) -> int | None:
    """The number typed (0: not decided), or the one choice whose name the text names; None if unclear."""
    typed = normalise(text)
    if typed.isdigit():
        return int(typed) if int(typed) <= len(choices) else None
    named = [n for n, choice in enumerate(choices, start=1) if typed and typed in normalise(choice[2])]
    return named[0] if len(named) == 1 else None


def _chosen(turn: Turn, ctx: Ctx, state: DialogState, choice: list[Any] | None) -> None:
    picked = choice or [None, None, ""]
    state = move(
        turn, ctx, state, "confirm", product=picked[0], product_type=picked[1], product_name=picked[2]
    )
    if state.data["kind"] == "documents" and not _email(ctx, turn):
        move(turn, ctx, state, "email", tries=0)
        answer(ctx, turn, "chat_campaign.documents_email")
        return
    _ask_confirm(turn, ctx, state)


def _email(ctx: Ctx, turn: Turn) -> str | None:
    statement = select(CHANNELS.c.email_main).where(CHANNELS.c.customer_id == turn.customer_id)
    return ctx.session.connection().execute(statement).scalar()


@chat.step(REQUEST, "email")
def read_email(turn: Turn, state: DialogState, ctx: Ctx) -> None:
    if turn.action == "cancel_dialog":
        return _stop(turn, ctx)
    try:
        email = typed_email(turn.text or "")
    except EmailProblem as problem:
        tries = int(state.data.get("tries", 0)) + 1
        if tries >= MAX_TRIES:
            end(turn, ctx)
            answer(ctx, turn, "chat_campaign.request_given_up")
            return
        move(turn, ctx, state, "email", tries=tries)
        short = problem.reason == "no_domain_suffix"  # taro@example: the .jp or .com is missing
        hint = "chat_contact.email_no_domain_suffix" if short else "chat_campaign.documents_email_invalid"
        answer(ctx, turn, hint, left=MAX_TRIES - tries)
        return
    _ask_confirm(turn, ctx, move(turn, ctx, state, "confirm", email=email))


def _ask_confirm(turn: Turn, ctx: Ctx, state: DialogState) -> None:
    kind, name = state.data["kind"], state.data.get("product_name") or ""
    email = state.data.get("email") or _email(ctx, turn) or ""
    answer(
        ctx, turn, f"chat_campaign.{kind}_confirm" + ("" if name else "_any"), product_name=name, email=email
    )


@chat.step(REQUEST, "confirm")
def confirm_request(turn: Turn, state: DialogState, ctx: Ctx) -> None:
    if turn.action == "confirm" or (turn.text is not None and turn.text.strip().lower() in YES):
        if not claim(turn, ctx, state):  # a second "はい" for the same question changes nothing
            answer(ctx, turn, "chat.dialog_expired")
            return None
        return _documents(turn, ctx, state) if state.data["kind"] == "documents" else _quote(turn, ctx, state)
    if turn.action == "cancel_dialog":
        return _stop(turn, ctx)
    if turn.action == "change" and state.data["choices"]:
        _ask_product(turn, ctx, move(turn, ctx, state, "product", tries=0))
        return
    _ask_confirm(turn, ctx, state)


def _documents(turn: Turn, ctx: Ctx, state: DialogState) -> None:
    """資料請求: a request record; an address typed here becomes the customer's email (no marketing consent)."""
    connection, code = ctx.session.connection(), new_code()
    on_file = _email(ctx, turn)
    email = on_file or str(state.data["email"])
    if not on_file:
        connection.execute(
            update(CHANNELS)
            .where(CHANNELS.c.customer_id == turn.customer_id)
            .values(email_main=email, updated_at=ctx.now)
        )
    connection.execute(
        insert(DocumentRequest.__table__).values(
            request_code=code,
            customer_id=turn.customer_id,
            requested_on=japan_day(ctx.effective_time),
            product_type_code=state.data.get("product_type"),
            product_code=state.data.get("product"),
            updated_at=ctx.now,
        )
    )
    mark_data_changed(connection)
    log.info("customer=%s requested documents request=%s", turn.customer_id, code)
    answer(ctx, turn, "chat_campaign.documents_done", request_code=code, email=email)


def _quote(turn: Turn, ctx: Ctx, state: DialogState) -> None:
    """見積依頼: a quote record for a chosen product (staff send it); otherwise staff ask what is wanted."""
    if not (state.data.get("product") or state.data.get("product_type")):
        log.info("customer=%s asked for a quote without a product", turn.customer_id)
        answer(ctx, turn, "chat_campaign.quote_handoff")
        return
    connection, code = ctx.session.connection(), new_code()
    connection.execute(
        insert(Quote.__table__).values(
            quote_code=code,
            customer_id=turn.customer_id,
            quoted_on=japan_day(ctx.effective_time),
            product_type_code=state.data.get("product_type"),
            product_code=state.data.get("product"),
            updated_at=ctx.now,
        )
    )
    mark_data_changed(connection)
    log.info("customer=%s requested a quote quote=%s", turn.customer_id, code)
    answer(ctx, turn, "chat_campaign.quote_done", request_code=code, product_name=state.data["product_name"])


def _stop(turn: Turn, ctx: Ctx) -> None:
    end(turn, ctx)
    answer(ctx, turn, "chat_campaign.request_stopped")


# ── referral (#19) ─────────────────────────────────────────────────────────────────────────────────────────
@chat.action("refer")
def share_referral_code(turn: Turn, ctx: Ctx) -> None:
    """The customer's code, and a message to forward to friends (its link adds the official account)."""
    code = code_for(ctx.session.connection(), turn.customer_id, ctx.now)
    answer(ctx, turn, "chat_campaign.refer_code", referral_code=code)
    answer(ctx, turn, "chat_campaign.refer_share", referral_code=code)


@chat.command("紹介コード", "紹介コード入力", "referral code")
@chat.action("enter_code")
def ask_for_code(turn: Turn, ctx: Ctx) -> None:
    begin(turn, ctx, REFERRAL, "code", tries=0)
    answer(ctx, turn, "chat_campaign.code_ask")


@chat.fallback
def code_typed(turn: Turn, ctx: Ctx) -> bool:
    """「紹介コード K7QX2P」 typed outside a dialog, as the message a referrer forwards tells the friend to."""
    found = CODE_TYPED.match(normalise(turn.text or ""))
    if found is None or not CODE_LIKE.match(normalise_code(found.group(1))):
        return False  # 「紹介コードを教えて」 is a question, not a code
    _enter(turn, ctx, found.group(1), tries=0)
    return True


@chat.step(REFERRAL, "code")
def read_code(turn: Turn, state: DialogState, ctx: Ctx) -> None:
    if turn.action == "cancel_dialog":
        end(turn, ctx)
        answer(ctx, turn, "chat_campaign.code_stopped")
        return
    if not turn.text:
        answer(ctx, turn, "chat_campaign.code_ask")
        return
    found = CODE_TYPED.match(normalise(turn.text))
    _enter(turn, ctx, found.group(1) if found else turn.text, tries=int(state.data.get("tries", 0)))


def _enter(turn: Turn, ctx: Ctx, typed: str, tries: int) -> None:
    outcome = record_referral(ctx.session.connection(), turn.customer_id, typed, ctx.now)
    if outcome is not Entry.UNKNOWN:
        end(turn, ctx)
        answer(ctx, turn, f"chat_campaign.code_{outcome}")
        return
    tries += 1
    if tries >= MAX_TRIES:
        end(turn, ctx)
        answer(ctx, turn, "chat_campaign.code_given_up")
        return
    begin(turn, ctx, REFERRAL, "code", tries=tries)
    answer(ctx, turn, "chat_campaign.code_unknown", left=MAX_TRIES - tries)
