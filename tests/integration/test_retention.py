"""Retention: the worker's tick takes the text out of what people wrote in the chat once it is older than
RETENTION_DAYS — webhook payloads, the merge values of the bot's chat answers, staff notices' fields, dialogs
left idle, what the customer wrote in a hand-over — a bounded batch at a time; newer texts, and events or messages still waiting, keep theirs."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, insert, select

from bot.jobs.tasks import tick
from bot.privacy.retention import forget_old_texts
from models import Delivery, Dialog, HandoverMessage, OutboundEvent, StaffNotice, WebhookEvent, utcnow
from tests.integration.chat_helpers import Chat, emulated_line
from tests.integration.privacy_helpers import age, live_in_the_chat, saya

WRITTEN = "雲母坂"  # what the customer wrote (their family name)


def kept_texts(runtime) -> dict[str, int]:
    """Rows still holding text, per kind."""
    with runtime.engine.connect() as connection:
        count = lambda table, where: connection.execute(
            select(func.count()).select_from(table).where(where)
        ).scalar()
        return {
            "webhook_payloads": count(WebhookEvent, WebhookEvent.redacted_at.is_(None)),
            "chat_answers": count(Delivery, Delivery.fields.is_not(None)),
            "staff_notices": count(StaffNotice, StaffNotice.fields.is_not(None)),
            "dialogs": count(Dialog, Dialog.line_user_id.is_not(None)),
            "handover_texts": count(HandoverMessage, HandoverMessage.text.is_not(None)),
        }


def test_the_tick_forgets_chat_texts_after_the_retention_period_in_batches(runtime, post_webhook, drain):
    """After RETENTION_DAYS the chat's texts go, a batch per kind per run; what is newer, and an event not yet
    processed, keep theirs; a redacted payload still says what happened and when."""
    who = saya()
    with emulated_line(runtime) as line:
        chat = live_in_the_chat(runtime, line, post_webhook, drain, who)
        chat.say("担当者")  # a hand-over: what they write to staff is kept, then forgotten like the rest
        chat.say(f"{WRITTEN}です。お電話ください")
        chat.say("メール登録")  # a command still works: the dialog waits again
        old = kept_texts(runtime)
        assert all(old.values()), old
        age(runtime, days=runtime.settings.retention_days + 1)
        newcomer = Chat(runtime, line, post_webhook, drain)
        newcomer.say(f"{WRITTEN}です。まだ覚えていてください")  # a recent message, and the bot's answer to it
    now = utcnow()
    with runtime.engine.begin() as connection:  # an old event still waiting to be processed
        connection.execute(
            insert(WebhookEvent.__table__).values(
                webhook_event_id="01JWAITING",
                event_type="message",
                status="received",
                line_user_id=who.line_user,
                payload=json.dumps({"type": "message", "message": {"text": WRITTEN}}, ensure_ascii=False),
                received_at=now.replace(year=now.year - 1),
            )
        )
    recent = {kind: n - old[kind] for kind, n in kept_texts(runtime).items()}

    first = forget_old_texts(runtime.engine, runtime.settings.retention_days, now, batch=1)
    assert {kind: first[kind] for kind in old} == {kind: 1 if old[kind] else 0 for kind in old}  # bounded
    report = tick(now.isoformat())
    assert sum(report["texts_forgotten"].values()) == sum(old.values()) - sum(first.values())
    assert kept_texts(runtime) == recent  # the newcomer's, and the event still waiting
    with runtime.engine.connect() as connection:
        events = connection.execute(select(WebhookEvent).order_by(WebhookEvent.id)).all()
    redacted = [e for e in events if e.redacted_at is not None]
    assert redacted and all(WRITTEN not in e.payload and who.line_user not in e.payload for e in redacted)
    assert {json.loads(e.payload)["type"] for e in redacted} >= {"follow", "message", "postback"}
    waiting = [e for e in events if e.status == "received"]
    assert [WRITTEN in e.payload for e in waiting] == [True]
    assert any(WRITTEN in e.payload for e in events if e.status == "processed" and e.redacted_at is None)
    assert tick(now.isoformat())["texts_forgotten"] == dict.fromkeys(first, 0)  # nothing left to do


def test_events_sent_to_the_insurers_systems_go_after_the_retention_period(runtime):
    """Delivered and dead outbound events older than RETENTION_DAYS are deleted (they carry a request's
    details); newer ones, and one still waiting, stay."""
    now = utcnow()
    old, new = now - timedelta(days=runtime.settings.retention_days + 1), now - timedelta(days=1)
    with runtime.engine.begin() as connection:
        for number, (status, created) in enumerate(
            [("delivered", old), ("dead", old), ("queued", old), ("delivered", new)]
        ):
            connection.execute(
                insert(OutboundEvent.__table__).values(
                    event_id=f"evt_{number}",
                    endpoint="crm",
                    event_type="request.created",
                    payload={"data": {"details": {"new_address": WRITTEN}}},
                    status=status,
                    attempts=1,
                    next_attempt_at=created,
                    created_at=created,
                )
            )
    assert forget_old_texts(runtime.engine, runtime.settings.retention_days, now)["outbound_events"] == 2
    with runtime.engine.connect() as connection:
        left = connection.execute(select(OutboundEvent.event_id).order_by(OutboundEvent.id)).scalars().all()
    assert left == ["evt_2", "evt_3"]
