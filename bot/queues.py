"""RQ queues and how work is put on them: deterministic job ids, retries with backoff."""

from __future__ import annotations

from collections.abc import Sequence

from redis import Redis
from rq import Queue, Retry

from bot.config import Settings

EVENTS = "events"  # inbound LINE events: short jobs, processed first
MAINTENANCE = "maintenance"  # the periodic tick
WORKER_QUEUES = (EVENTS, MAINTENANCE)


def event_job_id(event_row_id: int) -> str:
    return f"event-{event_row_id}"


def enqueue_events(redis: Redis, settings: Settings, event_row_ids: Sequence[int]) -> None:
    """One `process_event` job per stored event, in a single round trip to Redis."""
    if not event_row_ids:
        return
    queue = Queue(EVENTS, connection=redis)
    intervals = settings.event_retry_intervals
    retry = Retry(max=len(intervals), interval=intervals) if intervals else None
    jobs = [
        Queue.prepare_data(
            "bot.jobs.process_event",
            args=(row_id,),
            job_id=event_job_id(row_id),
            retry=retry,
            timeout=settings.event_job_timeout,
            result_ttl=3600,
            failure_ttl=7 * 24 * 3600,
        )
        for row_id in event_row_ids
    ]
    queue.enqueue_many(jobs)
