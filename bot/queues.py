"""RQ queues and how work is put on them: deterministic job ids, retries with backoff."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from redis import Redis
from rq import Queue, Retry

from bot.config import Settings

EVENTS = "events"  # inbound LINE events: short jobs, processed first
MAINTENANCE = "maintenance"  # the periodic tick
WORKER_QUEUES = (EVENTS, MAINTENANCE)


def event_job_id(event_row_id: int) -> str:
    return f"event-{event_row_id}"


def batch_job_id(first_row_id: int, last_row_id: int) -> str:
    return f"events-{first_row_id}-{last_row_id}"


def enqueue_events(redis: Redis, settings: Settings, event_row_ids: Sequence[int]) -> None:
    """One `process_events` job for a batch of newly stored events (one Redis round trip per batch).

    RQ's per-job cost is high next to an event's, so the web side enqueues batches; an event that fails
    inside a batch is retried on its own (`enqueue_event_retry`).
    """
    if not event_row_ids:
        return
    ids = sorted(event_row_ids)
    Queue(EVENTS, connection=redis).enqueue(
        "bot.jobs.process_events",
        ids,
        job_id=batch_job_id(ids[0], ids[-1]),
        job_timeout=settings.event_job_timeout * max(1, len(ids) // 50),
        result_ttl=600,
        failure_ttl=7 * 24 * 3600,
    )


def enqueue_event(redis: Redis, settings: Settings, event_row_id: int, *, after_failure: bool) -> None:
    """One event on its own job, with retries and backoff.

    After a failure inside a batch it waits the first retry interval and keeps the rest as retries; put
    back by the tick or an operator it runs now with every interval as a retry.
    """
    intervals = list(settings.event_retry_intervals)
    delay, retries = (intervals[0], intervals[1:]) if after_failure and intervals else (0, intervals)
    queue = Queue(EVENTS, connection=redis)
    options = {
        "job_id": event_job_id(event_row_id),
        "retry": Retry(max=len(retries), interval=retries) if retries else None,
        "job_timeout": settings.event_job_timeout,
        "result_ttl": 600,
        "failure_ttl": 7 * 24 * 3600,
    }
    if delay > 0:
        queue.enqueue_in(timedelta(seconds=delay), "bot.jobs.process_event", event_row_id, **options)
    else:
        queue.enqueue("bot.jobs.process_event", event_row_id, **options)
