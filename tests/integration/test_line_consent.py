"""Blocking the LINE account withdraws LINE permission in the consent history; unblocking gives back what the
block took away, and nothing the customer or the insurer withdrew otherwise."""

from __future__ import annotations

from sqlalchemy import select

from bot.delivery.consent import Evidence, opt_out
from flows.dsl import Channel
from models import ConsentEvent, CustomerChannels, OutboundEvent, utcnow
from tests import factories
from tests.integration.delivery_helpers import add_customer, line_id


def history(runtime, customer_id: int) -> list[tuple[bool, str]]:
    table = ConsentEvent.__table__
    with runtime.engine.connect() as connection:
        rows = connection.execute(
            select(table.c.granted, table.c.source)
            .where(table.c.customer_id == customer_id)
            .order_by(table.c.id)
        )
        return [tuple(row) for row in rows]


def permitted(runtime, customer_id: int) -> bool | None:
    table = CustomerChannels.__table__
    with runtime.engine.connect() as connection:
        return connection.execute(
            select(table.c.line_permitted).where(table.c.customer_id == customer_id)
        ).scalar_one()


def test_block_then_unblock_is_recorded_and_restores_line_permission(runtime, post_webhook, drain):
    """Unfollow: permission off, history 'line:unfollow'; follow again: permission back, 'line:follow'."""
    uid = line_id()
    customer = add_customer(runtime, line=uid)
    post_webhook(factories.body(factories.unfollow(uid)))
    drain()
    assert permitted(runtime, customer) is False
    assert history(runtime, customer) == [(False, "line:unfollow")]
    post_webhook(factories.body(factories.follow(uid, unblocked=True)))
    drain()
    assert permitted(runtime, customer) is True
    assert history(runtime, customer) == [(False, "line:unfollow"), (True, "line:follow")]


def test_unblocking_does_not_give_back_a_permission_withdrawn_otherwise(runtime, post_webhook, drain):
    """A customer who pressed 配信停止 and later blocked and unblocked stays opted out."""
    uid = line_id()
    customer = add_customer(runtime, line=uid)
    with runtime.engine.begin() as connection:
        opt_out(connection, customer, Channel.LINE, "line:postback", utcnow(), Evidence())
    post_webhook(factories.body(factories.unfollow(uid)))
    post_webhook(factories.body(factories.follow(uid, unblocked=True)))
    drain()
    assert permitted(runtime, customer) is False
    assert history(runtime, customer) == [(False, "line:postback")]


def test_a_late_redelivered_unfollow_changes_nothing(runtime, post_webhook, drain):
    """An unfollow older than the follow already applied is not a withdrawal."""
    uid = line_id()
    customer = add_customer(runtime, line=uid)
    old = factories.unfollow(uid)
    post_webhook(factories.body(factories.follow(uid)))
    drain()
    post_webhook(factories.body(old))
    drain()
    assert permitted(runtime, customer) is True and history(runtime, customer) == []


def evidence(runtime, customer_id: int) -> list[tuple[str, str | None]]:
    table = ConsentEvent.__table__
    with runtime.engine.connect() as connection:
        rows = connection.execute(
            select(table.c.source, table.c.evidence_ref)
            .where(table.c.customer_id == customer_id)
            .order_by(table.c.id)
        )
        return [tuple(row) for row in rows]


def test_line_events_are_the_evidence_of_the_consent_they_change(runtime, post_webhook, drain):
    """A new friend, a block, an unblock and a 配信停止 tap each keep LINE's webhookEventId with the change."""
    uid = line_id()
    add, block = factories.follow(uid), factories.unfollow(uid)
    unblock, tap = factories.follow(uid, unblocked=True), factories.postback(uid, "a=optout")
    for event in (add, block, unblock, tap):
        post_webhook(factories.body(event))
        drain()
    table = CustomerChannels.__table__
    with runtime.engine.connect() as connection:
        customer = connection.execute(
            select(table.c.customer_id).where(table.c.line_user_id == uid)
        ).scalar_one()
    assert evidence(runtime, customer) == [
        ("line:friend_add", f"webhook:{add['webhookEventId']}"),
        ("line:unfollow", f"webhook:{block['webhookEventId']}"),
        ("line:follow", f"webhook:{unblock['webhookEventId']}"),
        ("line:postback", f"webhook:{tap['webhookEventId']}"),
    ]


def test_the_insurers_systems_are_told_of_each_permission_the_customer_changes(runtime, post_webhook, drain):
    """With an outbound webhook endpoint: a block and an unblock are consent.changed events, the customer named
    by 顧客ID and internal number only; an opt-out that changes nothing is no event."""
    runtime.settings = runtime.settings.model_copy(
        update={
            "outbound_webhooks": {"crm": "https://crm.example.jp/h"},
            "outbound_webhook_secret": "whsec_" + "C" * 40,
        }
    )
    uid = line_id()
    customer = add_customer(runtime, line=uid)
    post_webhook(factories.body(factories.unfollow(uid)))
    drain()
    post_webhook(factories.body(factories.follow(uid, unblocked=True)))
    drain()
    with runtime.engine.begin() as connection:  # withdrawn already: nothing changes, nothing is told
        opt_out(connection, customer, Channel.EMAIL, "unsubscribe", utcnow(), Evidence())
        opt_out(connection, customer, Channel.EMAIL, "unsubscribe", utcnow(), Evidence())
    with runtime.engine.connect() as connection:
        events = connection.execute(select(OutboundEvent).order_by(OutboundEvent.id)).all()
    told = [
        (
            e.event_type,
            e.payload["data"]["channel"],
            e.payload["data"]["granted"],
            e.payload["data"]["source"],
        )
        for e in events
    ]
    assert told == [
        ("consent.changed", "line", False, "line:unfollow"),
        ("consent.changed", "line", True, "line:follow"),
        ("consent.changed", "email", False, "unsubscribe"),
    ]
    assert {e.customer_id for e in events} == {customer}
    assert uid not in str([e.payload for e in events])
