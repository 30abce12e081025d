"""The LINE webhook endpoint: signature, storage once per event, enqueueing, and bad input."""

from __future__ import annotations

import json

from rq import Queue
from sqlalchemy import func, select

from bot.jobs.queues import EVENTS, PENDING_EVENTS
from bot.platform.bulk import COPY_MIN_ROWS
from bot.platform.db import session_scope
from models import EventStatus, WebhookEvent
from tests import factories


def queued_event_ids(runtime) -> list[int]:
    """Every event row id handed to the worker and not yet taken (with a drain job queued to take them)."""
    ids = [int(row_id) for row_id in runtime.redis.lrange(PENDING_EVENTS, 0, -1)]
    if ids:
        assert [job.func_name for job in Queue(EVENTS, connection=runtime.redis).jobs] == [
            "bot.jobs.tasks.drain_events"
        ]
    return ids


def count_events(runtime) -> int:
    with session_scope(runtime.engine) as session:
        return session.execute(select(func.count()).select_from(WebhookEvent)).scalar_one()


def test_good_signature_stores_and_enqueues(post_webhook, runtime):
    """A correctly signed event is stored once, enqueued once, and answered 200 without calling LINE."""
    response = post_webhook(factories.body(factories.follow(factories.user_id())))
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "stored": 1}
    assert count_events(runtime) == 1
    assert len(queued_event_ids(runtime)) == 1


def test_wrong_signature_is_refused_without_side_effect(post_webhook, runtime):
    """A body signed with another secret gets 400 and nothing is stored or enqueued."""
    response = post_webhook(factories.body(factories.follow(factories.user_id())), secret="other-secret")
    assert response.status_code == 400
    assert count_events(runtime) == 0
    assert len(queued_event_ids(runtime)) == 0


def test_missing_signature_is_refused(post_webhook, runtime):
    """No X-Line-Signature header: 400, nothing stored."""
    response = post_webhook(factories.body(factories.follow(factories.user_id())), signature="")
    assert response.status_code == 400
    assert count_events(runtime) == 0


def test_signature_over_other_bytes_is_refused(post_webhook, runtime):
    """A signature of the same JSON serialised differently does not verify: the raw bytes are signed."""
    event = factories.follow(factories.user_id())
    signed = factories.sign(factories.body(event), "test-channel-secret")
    reserialised = json.dumps(json.loads(factories.body(event)), indent=2).encode()
    assert post_webhook(reserialised, signature=signed).status_code == 400
    assert count_events(runtime) == 0


def test_empty_events_is_ok(post_webhook, runtime):
    """The console's Verify button sends no events; it gets 200."""
    response = post_webhook(b'{"destination":"Uxxxxxxxxxx","events":[]}')
    assert response.status_code == 200
    assert count_events(runtime) == 0


def test_same_body_fifty_times_and_redelivered_stores_once(post_webhook, runtime, drain):
    """50 identical posts plus a redelivery of the event: one stored row, one job, one processed effect."""
    uid = factories.user_id()
    event = factories.follow(uid)
    payload = factories.body(event)
    for _ in range(50):
        assert post_webhook(payload).status_code == 200
    redelivered = dict(event, deliveryContext={"isRedelivery": True})
    assert post_webhook(factories.body(redelivered)).status_code == 200
    assert count_events(runtime) == 1
    assert len(queued_event_ids(runtime)) == 1
    drain()
    with session_scope(runtime.engine) as session:
        row = session.execute(select(WebhookEvent)).scalar_one()
        assert row.status == EventStatus.PROCESSED
        assert row.attempts == 1


def test_body_repeating_an_event_stores_it_once(post_webhook, runtime):
    """Two copies of one event in a single body are one row."""
    event = factories.follow(factories.user_id())
    response = post_webhook(factories.body(event, event))
    assert response.get_json()["stored"] == 1
    assert count_events(runtime) == 1


def test_several_users_in_one_body(post_webhook, runtime):
    """One POST may carry events of different users; each is stored and enqueued."""
    events = [factories.follow(factories.user_id()) for _ in range(3)] + [
        factories.text_message("U" + "a" * 32)
    ]
    assert post_webhook(factories.body(*events)).get_json()["stored"] == 4
    assert len(queued_event_ids(runtime)) == 4


def test_malformed_json_is_4xx(post_webhook, runtime):
    """A signed body that is not JSON gets 400, not a 5xx."""
    for payload in (
        b"{not json",
        b"",
        b"\xff\xfe\x00",
        b"[1,2]",
        b'{"events": {}}',
        b'{"events": [1]}',
        b"null",
    ):
        response = post_webhook(payload)
        assert response.status_code == 400, payload
        assert "error" in response.get_json()
    assert count_events(runtime) == 0


def test_unknown_fields_and_event_without_id_are_stored(post_webhook, runtime):
    """Unknown fields are kept; an event lacking webhookEventId is keyed by its content, so a replay is a no-op."""
    odd = {"type": "somethingNew", "timestamp": "not-a-number", "brandNewField": {"x": [1, 2]}}
    for _ in range(2):
        assert post_webhook(factories.body(odd)).status_code == 200
    with session_scope(runtime.engine) as session:
        row = session.execute(select(WebhookEvent)).scalar_one()
        assert row.webhook_event_id.startswith("sha256:")
        assert row.event_type == "somethingNew"
        assert row.occurred_at is None
        assert json.loads(row.payload)["brandNewField"] == {"x": [1, 2]}


def test_redis_down_still_acknowledges_and_keeps_the_event(post_webhook, runtime, monkeypatch):
    """If Redis is unreachable the event is stored and 200 is returned; the tick enqueues it later."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    import bot.inbound.webhook

    def refuse(*args, **kwargs):
        raise RedisConnectionError("down")

    monkeypatch.setattr(bot.inbound.webhook, "enqueue_events", refuse)
    assert post_webhook(factories.body(factories.follow(factories.user_id()))).status_code == 200
    assert count_events(runtime) == 1
    assert len(queued_event_ids(runtime)) == 0


def test_database_down_is_503_so_line_redelivers(post_webhook, runtime, monkeypatch):
    """When the event cannot be stored the webhook says so (503) instead of acknowledging it."""
    from sqlalchemy import create_engine

    monkeypatch.setattr(
        runtime, "webhook_engine", create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    )
    response = post_webhook(factories.body(factories.follow(factories.user_id())))
    assert response.status_code == 503
    assert len(queued_event_ids(runtime)) == 0


def test_stored_row_reads_back_exactly(post_webhook, runtime):
    """The webhook's bulk insert stores every field so the ORM reads it back unchanged (times aware, in UTC)."""
    from datetime import UTC, datetime

    uid = factories.user_id()
    event = factories.text_message(uid, text="保険の見積もり 🚗", timestamp=1_700_000_123_456)
    event["deliveryContext"] = {"isRedelivery": True}
    before = datetime.now(UTC)
    post_webhook(factories.body(event))
    with session_scope(runtime.engine) as session:
        row = session.execute(select(WebhookEvent)).scalar_one()
    assert (row.webhook_event_id, row.event_type, row.source_type, row.line_user_id) == (
        event["webhookEventId"],
        "message",
        "user",
        uid,
    )
    assert row.occurred_at == datetime(2023, 11, 14, 22, 15, 23, 456000, tzinfo=UTC)
    assert before <= row.received_at <= datetime.now(UTC)
    assert row.is_redelivery is True and row.status == EventStatus.RECEIVED and row.attempts == 0
    assert json.loads(row.payload) == event


def test_a_batch_larger_than_the_copy_threshold_is_stored_in_one_statement(post_webhook, runtime):
    """A body with more events than the bulk path's COPY threshold is stored whole: the webhook writes in
    autocommit, where a staging table would not outlive its first statement."""
    events = [factories.follow(factories.user_id()) for _ in range(COPY_MIN_ROWS + 50)]
    response = post_webhook(factories.body(*events))
    assert response.get_json()["stored"] == len(events)
    assert count_events(runtime) == len(events)
