"""Which message a button was tapped on, and what it was about: a button's token (`t=`) names the ledger row, and
so the scenario and anchor record that sent it (a reservation, a document request …), or a chat answer's own
merge values. Only the customer's own messages count: someone else's token names nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from bot.chat.answers import Turn
from bot.customers.facts import anchor_code
from bot.inbound.context import Ctx
from flows.dsl import Anchor
from models import Delivery, Enrollment, Reservation

RESERVATIONS = Reservation.__table__
DELIVERIES = Delivery.__table__
ENROLLMENTS = Enrollment.__table__


@dataclass(frozen=True)
class Tapped:
    """The message a button was tapped on: the scenario and anchor record that sent it, or a chat answer's
    merge values (which name the reservation it was about)."""

    scenario_id: str | None
    anchor_key: str | None
    fields: dict[str, Any]


def tapped(ctx: Ctx, turn: Turn) -> Tapped | None:
    """The customer's own message named by the button's token (someone else's token names nothing)."""
    if turn.token is None:
        return None
    row = (
        ctx.session.connection()
        .execute(
            select(ENROLLMENTS.c.scenario_id, ENROLLMENTS.c.anchor_key, DELIVERIES.c.fields)
            .select_from(DELIVERIES.outerjoin(ENROLLMENTS, ENROLLMENTS.c.id == DELIVERIES.c.enrollment_id))
            .where(DELIVERIES.c.token == turn.token, DELIVERIES.c.customer_id == turn.customer_id)
        )
        .first()
    )
    return Tapped(row.scenario_id, row.anchor_key, dict(row.fields or {})) if row else None


def tapped_reservation(ctx: Ctx, turn: Turn) -> Any | None:
    """The reservation the tapped message is about, if it is about one of this customer's reservations."""
    found = tapped(ctx, turn)
    if found is None:
        return None
    if found.anchor_key and found.anchor_key.startswith(f"{Anchor.RESERVATION}:"):
        code = anchor_code(found.anchor_key)
    else:
        code = found.fields.get("reservation_code")
    return reservation(ctx, turn, code) if code else None


def reservation(ctx: Ctx, turn: Turn, code: str) -> Any | None:
    statement = select(RESERVATIONS).where(
        RESERVATIONS.c.reservation_code == code, RESERVATIONS.c.customer_id == turn.customer_id
    )
    return ctx.session.connection().execute(statement).first()
