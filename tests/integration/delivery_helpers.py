"""Builders for the delivery tests: customers with their channels, ledger rows, and one dispatch-and-send."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from bot.delivery.broadcasts import queue_broadcast
from bot.delivery.outbox import dispatch_due, new_token
from models import (
    Broadcast,
    Customer,
    CustomerChannels,
    Delivery,
    DeliveryStatus,
    FriendStatus,
    LineUser,
    utcnow,
)


def line_id() -> str:
    return "U" + secrets.token_hex(16)


def add_customer(
    runtime: Any,
    *,
    line: str | None = None,
    friend: FriendStatus = FriendStatus.FOLLOWING,
    line_ok: bool | None = True,
    phone: str | None = None,
    sms_ok: bool | None = None,
    email: str | None = None,
    email_ok: bool | None = None,
    family_name: str = "山田",
) -> int:
    now = utcnow()
    with runtime.engine.begin() as connection:
        customer_id = connection.execute(
            Customer.__table__.insert()
            .values(family_name=family_name, given_name="花子", created_at=now, updated_at=now)
            .returning(Customer.__table__.c.id)
        ).scalar_one()
        connection.execute(
            CustomerChannels.__table__.insert().values(
                customer_id=customer_id,
                line_user_id=line,
                line_permitted=line_ok if line else None,
                sms_phone=phone,
                sms_permitted=sms_ok,
                email_main=email,
                email_permitted=email_ok,
                updated_at=now,
            )
        )
        if line:
            connection.execute(
                LineUser.__table__.insert().values(
                    line_user_id=line, friend_status=friend, created_at=now, updated_at=now
                )
            )
    return customer_id


def add_row(
    runtime: Any,
    customer_id: int,
    *,
    channel: str = "line",
    template: str = "broadcast.general_notice",
    purpose: str = "marketing",
    due_at: datetime | None = None,
    step: str | None = None,
    **extra: Any,
) -> int:
    now = utcnow()
    with runtime.engine.begin() as connection:
        return connection.execute(
            Delivery.__table__.insert()
            .values(
                customer_id=customer_id,
                step=step or f"s{secrets.token_hex(3)}",
                template=template,
                channel=channel,
                purpose=purpose,
                status=DeliveryStatus.QUEUED,
                due_at=due_at or now,
                attempts=0,
                token=new_token(),
                created_at=now,
                updated_at=now,
                **extra,
            )
            .returning(Delivery.__table__.c.id)
        ).scalar_one()


def ledger(runtime: Any, *ids: int) -> list[Any]:
    table = Delivery.__table__
    with runtime.engine.connect() as connection:
        statement = select(table).order_by(table.c.id)
        if ids:
            statement = statement.where(table.c.id.in_(ids))
        return connection.execute(statement).all()


def send_due(runtime: Any, drain: Any, at: datetime | None = None) -> int:
    """One dispatch at `at` (now by default), then every send job run by a burst worker."""
    handed = dispatch_due(runtime.engine, runtime.redis, runtime.settings, at or utcnow())
    drain()
    return handed


def new_broadcast(
    runtime: Any,
    *,
    template: str = "broadcast.general_notice",
    channels: str = "first_reachable:line,sms,email",
    purpose: str = "marketing",
) -> Broadcast:
    """A confirmed broadcast's row (what the admin chat will create), not yet queued."""
    with Session(runtime.engine, expire_on_commit=False) as session:
        broadcast = Broadcast(name="campaign", template=template, purpose=purpose, channels=channels)
        session.add(broadcast)
        session.commit()
        return broadcast


def queue(runtime: Any, broadcast: Broadcast) -> int:
    with runtime.engine.begin() as connection:
        return queue_broadcast(connection, broadcast, utcnow())
