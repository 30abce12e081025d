"""The worker's side: stored events run through the handler registry, with retries and a final failure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from rq import Queue
from sqlalchemy import select

from bot.inbound.events import parse_event
from bot.jobs.queues import EVENTS
from bot.platform.db import session_scope
from handlers import follow as follow_handlers
from models import EventStatus, FriendStatus, LineUser, WebhookEvent
from tests import factories

WEBHOOK_SPEC = Path(__file__).resolve().parent.parent / "fixtures" / "line-openapi" / "webhook.yml"


def rows(runtime) -> list[WebhookEvent]:
    with session_scope(runtime.engine) as session:
        return list(session.execute(select(WebhookEvent).order_by(WebhookEvent.id)).scalars())


def line_user(runtime, uid: str) -> LineUser | None:
    with session_scope(runtime.engine) as session:
        return session.execute(select(LineUser).where(LineUser.line_user_id == uid)).scalar_one_or_none()


def test_every_documented_event_type_is_processed(post_webhook, runtime, drain):
    """One body with every event type of LINE's webhook.yml plus an unknown one: 200, all processed, no crash."""
    spec = yaml.safe_load(WEBHOOK_SPEC.read_text())
    documented = set(spec["components"]["schemas"]["Event"]["discriminator"]["mapping"])
    samples = factories.every_event_type(factories.user_id())
    assert documented <= set(samples), f"factories miss {documented - set(samples)}"
    unknown = factories.base_event("holographicCall", factories.user_id(), hologram={"fps": 60})
    malformed = {"type": "message", "webhookEventId": factories.ulid()}  # no mode, no deliveryContext
    response = post_webhook(factories.body(*samples.values(), unknown, malformed))
    assert response.status_code == 200
    drain()
    stored = rows(runtime)
    assert len(stored) == len(samples) + 2
    assert {row.status for row in stored} == {EventStatus.PROCESSED}
    assert {row.event_type for row in stored} >= documented | {"holographicCall"}


def test_samples_are_complete_enough_for_the_sdk(runtime):
    """Every sample parses to its own SDK class (not UnknownEvent), so each handler is really exercised."""
    from linebot.v3.models import UnknownEvent

    for event_type, event in factories.every_event_type(factories.user_id()).items():
        parsed = parse_event(event)
        assert not isinstance(parsed, UnknownEvent), event_type
        assert parsed.type == event_type


def test_follow_then_unfollow_marks_reachability(post_webhook, runtime, drain):
    """Friend-add makes the user reachable on LINE; a block makes them unreachable."""
    uid = factories.user_id()
    post_webhook(factories.body(factories.follow(uid, timestamp=1_700_000_000_000)))
    drain()
    assert line_user(runtime, uid).friend_status == FriendStatus.FOLLOWING
    post_webhook(factories.body(factories.unfollow(uid, timestamp=1_700_000_100_000)))
    drain()
    user = line_user(runtime, uid)
    assert user.friend_status == FriendStatus.BLOCKED
    assert user.blocked_at.timestamp() == 1_700_000_100


def test_late_redelivered_follow_does_not_undo_a_newer_block(post_webhook, runtime, drain):
    """Events apply in the order they occurred: an old follow arriving after a newer unfollow changes nothing."""
    uid = factories.user_id()
    post_webhook(factories.body(factories.unfollow(uid, timestamp=1_700_000_200_000)))
    old_follow = factories.follow(uid, timestamp=1_700_000_100_000, deliveryContext={"isRedelivery": True})
    post_webhook(factories.body(old_follow))
    drain()
    assert line_user(runtime, uid).friend_status == FriendStatus.BLOCKED


def test_unblock_after_block_restores_reachability(post_webhook, runtime, drain):
    """Re-follow after a block (isUnblocked) makes the user reachable again."""
    uid = factories.user_id()
    post_webhook(factories.body(factories.follow(uid, timestamp=1_700_000_000_000)))
    post_webhook(factories.body(factories.unfollow(uid, timestamp=1_700_000_100_000)))
    post_webhook(factories.body(factories.follow(uid, unblocked=True, timestamp=1_700_000_200_000)))
    drain()
    assert line_user(runtime, uid).friend_status == FriendStatus.FOLLOWING


def test_message_records_interaction(post_webhook, runtime, drain):
    """A message from a user we never saw follow creates their record with the interaction time."""
    uid = factories.user_id()
    post_webhook(factories.body(factories.text_message(uid, timestamp=1_700_000_000_000)))
    drain()
    user = line_user(runtime, uid)
    assert user.friend_status == FriendStatus.UNKNOWN
    assert user.last_interaction_at.timestamp() == 1_700_000_000


def test_failed_account_link_without_source_is_processed(post_webhook, runtime, drain):
    """A failed link has no source and no reply token; it is processed without touching any user."""
    post_webhook(factories.body(factories.account_link(None, result="failed")))
    drain()
    assert [row.status for row in rows(runtime)] == [EventStatus.PROCESSED]


@pytest.fixture
def flaky_follow(monkeypatch):
    """Make the follow handler raise for one chosen user (the router holds handler references, so patch it)."""
    doomed: set[str] = set()
    original = follow_handlers.record_follow

    def maybe_fail(session, uid, at, now):
        if uid in doomed:
            raise RuntimeError(f"boom for {uid}")
        return original(session, uid, at, now)

    monkeypatch.setattr(follow_handlers, "record_follow", maybe_fail)
    return doomed


def test_raising_handler_is_retried_then_failed_without_blocking_others(
    post_webhook, runtime, drain, flaky_follow, caplog
):
    """A handler that keeps raising is tried 1 + retries times, then recorded failed; other events still run."""
    bad, good = factories.user_id(), factories.user_id()
    flaky_follow.add(bad)
    post_webhook(factories.body(factories.follow(bad), factories.follow(good)))
    with caplog.at_level("INFO"):
        drain()
    by_user = {row.line_user_id: row for row in rows(runtime)}
    failed = by_user[bad]
    assert failed.status == EventStatus.FAILED
    assert failed.attempts == 1 + len(runtime.settings.event_retry_intervals)
    assert failed.last_error.startswith("RuntimeError at ")
    assert by_user[good].status == EventStatus.PROCESSED
    assert line_user(runtime, good).friend_status == FriendStatus.FOLLOWING
    assert line_user(runtime, bad) is None  # the failed attempts left no partial effect
    assert bad not in caplog.text and good not in caplog.text  # no LINE user ids in the logs


def test_handler_that_recovers_on_retry_is_processed(post_webhook, runtime, drain, monkeypatch):
    """A transient failure is retried; the second attempt's effect sticks and the event ends processed."""
    calls = {"n": 0}
    original = follow_handlers.record_follow

    def fail_once(session, uid, at, now):
        calls["n"] += 1
        if calls["n"] == 1:
            raise TimeoutError("transient")
        return original(session, uid, at, now)

    monkeypatch.setattr(follow_handlers, "record_follow", fail_once)
    uid = factories.user_id()
    post_webhook(factories.body(factories.follow(uid)))
    drain()
    [row] = rows(runtime)
    assert (row.status, row.attempts) == (EventStatus.PROCESSED, 2)
    assert line_user(runtime, uid).friend_status == FriendStatus.FOLLOWING


def test_processing_twice_has_one_effect(post_webhook, runtime, drain):
    """Running the job again for an event already processed changes nothing (replays are harmless)."""
    from bot.jobs.tasks import process_event

    uid = factories.user_id()
    post_webhook(factories.body(factories.follow(uid)))
    drain()
    [row] = rows(runtime)
    assert process_event(row.id) == "skipped"
    [again] = rows(runtime)
    assert again.attempts == 1


def test_retry_failed_cli_requeues_failed_events(post_webhook, runtime, drain, flaky_follow, app):
    """After the cause is fixed, `flask events retry-failed` processes events that had failed for good."""
    uid = factories.user_id()
    flaky_follow.add(uid)
    post_webhook(factories.body(factories.follow(uid)))
    drain()
    assert rows(runtime)[0].status == EventStatus.FAILED
    flaky_follow.clear()
    result = app.test_cli_runner().invoke(args=["events", "retry-failed"])
    assert "re-enqueued 1 failed events" in result.output
    drain()
    assert rows(runtime)[0].status == EventStatus.PROCESSED
    assert line_user(runtime, uid).friend_status == FriendStatus.FOLLOWING


def test_tick_requeues_events_whose_job_was_lost(post_webhook, runtime, drain):
    """An event stored while Redis lost its job is enqueued again by the periodic tick, once."""
    from datetime import timedelta

    from bot.jobs.tasks import tick
    from models import utcnow

    uid = factories.user_id()
    post_webhook(factories.body(factories.follow(uid)))
    Queue(EVENTS, connection=runtime.redis).empty()  # the job is lost
    runtime.redis.flushdb()
    later = (utcnow() + timedelta(seconds=runtime.settings.event_requeue_after_seconds + 1)).isoformat()
    assert tick(utcnow().isoformat())["events_requeued"] == 0  # too fresh to be called stalled
    assert tick(later)["events_requeued"] == 1
    assert tick(later)["events_requeued"] == 0  # its job is queued now
    drain()
    assert line_user(runtime, uid).friend_status == FriendStatus.FOLLOWING
    assert json.loads(rows(runtime)[0].payload)["type"] == "follow"


def test_a_large_backlog_is_drained_in_batches(post_webhook, runtime, drain, monkeypatch):
    """More events than one drain takes: the drain queues another before working, and every event is processed."""
    from bot.jobs import queues

    monkeypatch.setattr(queues, "DRAIN_BATCH", 20)  # a drain's share, small: three drains, not 400 events
    events = [factories.follow(factories.user_id()) for _ in range(queues.DRAIN_BATCH * 2 + 7)]
    for start in range(0, len(events), 100):
        assert post_webhook(factories.body(*events[start : start + 100])).status_code == 200
    drain()
    stored = rows(runtime)
    assert len(stored) == len(events)
    assert {row.status for row in stored} == {EventStatus.PROCESSED}
    assert runtime.redis.llen("events:pending") == 0


def test_events_pushed_while_a_drain_runs_get_their_own_drain(runtime):
    """A push that lands after a drain took its batch queues a new drain job, distinct from the running one."""
    from bot.jobs.queues import enqueue_events, take_pending_events

    enqueue_events(runtime.redis, runtime.settings, [1, 2])
    queue = Queue(EVENTS, connection=runtime.redis)
    [first] = queue.jobs
    assert take_pending_events(runtime.redis, runtime.settings) == [1, 2]  # the drain is now running
    enqueue_events(runtime.redis, runtime.settings, [3])
    enqueue_events(runtime.redis, runtime.settings, [4])  # a drain is already queued: no second one
    drains = [job for job in queue.jobs if job.id != first.id]
    assert len(drains) == 1 and drains[0].func_name == "bot.jobs.tasks.drain_events"
    assert take_pending_events(runtime.redis, runtime.settings) == [3, 4]
