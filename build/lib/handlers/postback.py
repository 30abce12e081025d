"""Button and quick-reply taps (postbacks) on our LINE messages and campaign dialogs.

Our messages carry their postback `data` as a query string: `t=<token>` names the message tapped (its delivery
ledger row), `a=<action>` what the customer asked for; `a=optout` is 配信停止 (no more marketing on LINE).
Data we did not write (an old rich menu, a hand-made payload) is ignored, never an error.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qs

from linebot.v3.webhooks import PostbackEvent
from sqlalchemy import select

from bot.chat.answers import Turn, answer, ensure_customer
from bot.delivery.consent import opt_out
from bot.delivery.engagement import DELIVERIES, mark_engaged, valid_token
from bot.inbound.context import Ctx
from bot.inbound.router import HandlerGroup
from flows.dsl import Channel
from handlers.admin import handle_postback
from handlers.conversation import converse
from handlers.interaction import note_interaction
from models import CustomerChannels

log = logging.getLogger(__name__)
group = HandlerGroup("postback")

CUSTOMER_CHANNELS = CustomerChannels.__table__
OPT_OUT = "optout"
MAX_FIELDS = 10  # LINE limits postback data to 300 characters; ours has two fields


@group.on(PostbackEvent)
def receive_postback(event: PostbackEvent, ctx: Ctx) -> None:
    """A tap marks the user as active, counts as a tap on the message it came from, and carries out its action."""
    note_interaction(event, ctx)
    user_id = getattr(event.source, "user_id", None)
    fields = parse_data(getattr(event.postback, "data", None))
    if not user_id or not fields:
        return
    customer_ids = _customers(ctx, user_id)
    token = fields.get("t")
    if token and valid_token(token):
        _record_tap(ctx, customer_ids, token)
    action = fields.get("a")
    if action and handle_postback(event, ctx, action, fields.get("v")):
        return  # a staff member's tap on an admin button
    if action == OPT_OUT:
        _opt_out(ctx, customer_ids)
    if getattr(event.source, "type", "user") != "user":
        return
    customer_id = ensure_customer(ctx.session.connection(), user_id, ctx.effective_time, ctx.evidence)
    turn = Turn(
        user_id,
        customer_id,
        getattr(event, "reply_token", None),
        action=action,
        value=fields.get("v"),
        token=token if token and valid_token(token) else None,
        params=_params(event),
    )
    if action == OPT_OUT:
        answer(ctx, turn, "chat.opted_out")
    elif action:
        converse(turn, ctx)


def _params(event: PostbackEvent) -> dict[str, str]:
    """LINE's postback params: the date-time picker's choice (`datetime`, `date` or `time`)."""
    params = getattr(event.postback, "params", None) or {}
    return {str(k): str(v) for k, v in dict(params).items() if v is not None}


def parse_data(data: object) -> dict[str, str]:
    """The postback data's fields (the first value of each); {} for anything that is not a query string."""
    if not isinstance(data, str) or not data:
        return {}
    try:
        parsed = parse_qs(data, max_num_fields=MAX_FIELDS)
    except ValueError:  # too many fields
        return {}
    return {name: values[0] for name, values in parsed.items() if values}


def _customers(ctx: Ctx, user_id: str) -> list[int]:
    statement = select(CUSTOMER_CHANNELS.c.customer_id).where(CUSTOMER_CHANNELS.c.line_user_id == user_id)
    return list(ctx.session.execute(statement).scalars())


def _record_tap(ctx: Ctx, customer_ids: list[int], token: str) -> None:
    """First tap wins; only a LINE message sent to this user's customer counts (a token is not a credential
    here: LINE tells us who tapped)."""
    if not customer_ids:
        return
    criteria = [
        DELIVERIES.c.token == token,
        DELIVERIES.c.channel == Channel.LINE,
        DELIVERIES.c.customer_id.in_(customer_ids),
    ]
    if mark_engaged(ctx.session.connection(), criteria, "tapped_at", ctx.effective_time, ctx.now):
        log.info("event row=%s tap recorded", ctx.event_row_id)


def _opt_out(ctx: Ctx, customer_ids: list[int]) -> None:
    connection = ctx.session.connection()
    for customer_id in customer_ids:
        changed = opt_out(
            connection, customer_id, Channel.LINE, "line:postback", ctx.effective_time, ctx.evidence
        )
        log.info("event row=%s customer=%s line opt-out changed=%s", ctx.event_row_id, customer_id, changed)
