"""Answers in the LINE chat. They go through the delivery ledger like every other message: a row per answer,
written in the same transaction as the event that prompted it, then sent by the send workers at once (by reply
while LINE's reply token is fresh, by push after). So an answer is never lost and never sent twice, and it
shows in the same history as the scenarios' messages.

Every LINE user the bot talks to is a customer record: a friend the insurer does not know yet is a prospect
with only a LINE address (ID連携 later ties them to the insurer's customer).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from bot.customers.language import customer_locale, set_language, supported_language
from bot.delivery.buttons import CHOICES
from bot.delivery.channels.line_profile import profile_language
from bot.delivery.consent import Evidence, consent_row
from bot.delivery.outbox import queue_message
from bot.delivery.windows import reply_until
from bot.inbound.context import Ctx
from flows.dsl import Channel
from models import ConsentEvent, Customer, CustomerChannels, Delivery, utcnow

CHANNELS = CustomerChannels.__table__
CUSTOMERS = Customer.__table__
CONSENT = ConsentEvent.__table__
DELIVERIES = Delivery.__table__
FRIEND_ADD_SOURCE = "line:friend_add"


@dataclass(frozen=True)
class Media:
    """A photo, video or file the user sent: LINE's message id (its content is fetched later, in the worker)."""

    message_id: str
    kind: str  # image, video, file
    file_name: str | None = None
    size: int | None = None  # a file's size as LINE reports it (photos and videos: unknown until fetched)
    last_of_set: bool = True  # False for all but the last photo of several sent at once (LINE's imageSet)


@dataclass(frozen=True)
class Turn:
    """One thing a LINE user did in the chat: a text, or a tap (postback) with its action and values."""

    user_id: str
    customer_id: int
    reply_token: str | None
    text: str | None = None
    action: str | None = None  # postback `a=`
    value: str | None = None  # postback `v=`
    token: str | None = None  # postback `t=`: the message tapped
    params: Mapping[str, str] = field(default_factory=dict)  # LINE's postback params (date-time picker)
    media: Media | None = None  # a photo, video or file instead of a text
    message_id: str | None = None  # LINE's id of the message (a text, a photo …)
    message_type: str | None = None  # text, image, video, audio, file, sticker, location
    read_token: str | None = None  # LINE's markAsReadToken of the message


def ensure_customer(connection: Connection, line_user_id: str, at: datetime, evidence: Evidence) -> int:
    """The customer behind a LINE user; a new prospect (LINE address only) for a user we do not know yet.

    Adding the official account as a friend is asking for its messages (a block withdraws it), so a new
    prospect is permitted on LINE, with that consent (and the event that showed it) in the history."""
    found = connection.execute(
        select(CHANNELS.c.customer_id)
        .where(CHANNELS.c.line_user_id == line_user_id)
        .order_by(CHANNELS.c.customer_id)
        .limit(1)
    ).scalar()
    if found is not None:
        return found
    now = utcnow()
    customer_id = connection.execute(
        insert(CUSTOMERS).values(created_at=now, updated_at=now).returning(CUSTOMERS.c.id)
    ).scalar_one()
    connection.execute(
        insert(CHANNELS).values(
            customer_id=customer_id, line_user_id=line_user_id, line_permitted=True, updated_at=now
        )
    )
    connection.execute(
        insert(CONSENT).values(consent_row(customer_id, Channel.LINE, True, at, FRIEND_ADD_SOURCE, evidence))
    )
    return customer_id


def adopt_profile_language(ctx: Ctx, customer_id: int, line_user_id: str) -> None:
    """A customer without a language takes their LINE app's (GET profile) when the service speaks it; one who
    chose a language keeps it. LINE not answering leaves it unset (the default applies)."""
    connection = ctx.session.connection()
    known = connection.execute(select(CUSTOMERS.c.language).where(CUSTOMERS.c.id == customer_id)).scalar()
    if known is not None:
        return
    settings = ctx.settings
    timeout = (settings.line_connect_timeout, settings.line_read_timeout)
    tag = profile_language(
        settings.line_api_base_url, settings.line_channel_access_token, line_user_id, timeout
    )
    language = supported_language(tag)
    if language is not None:
        set_language(connection, customer_id, language, only_unset=True)


def chat_locale(ctx: Ctx, turn: Turn) -> str:
    """The language this customer is answered in (dates and labels an answer's merge values carry)."""
    return customer_locale(ctx.session.connection(), turn.customer_id, ctx.settings.default_locale)


def choice_labels(lines: list[str]) -> dict[str, str]:
    """The quick-reply chips of a numbered list drawn from data ("1. 自動車保険" …): tapping one types its number
    (the first nine; LINE shows at most 13 chips)."""
    return {f"choice_{number}_label": line for number, line in enumerate(lines[: len(CHOICES)], start=1)}


def answer(ctx: Ctx, turn: Turn, template: str, **fields: Any) -> int:
    """Queue the chat answer `messages.<template>` with these merge values; its ledger id.

    The first answer to a turn takes the reply token (a token answers once); later ones go by push."""
    first = not ctx.answers
    token = turn.reply_token if first else None
    delivery_id = queue_message(
        ctx.session.connection(),
        turn.customer_id,
        template,
        f"chat:{ctx.event_row_id}:{len(ctx.answers) + 1}",
        ctx.now,
        reply_token=token,
        reply_by=reply_until(token, ctx.occurred_at or ctx.now),
        **fields,
    )
    ctx.answers.append(delivery_id)
    return delivery_id
