"""RQ queues and how work is put on them: deterministic job ids, retries with backoff."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from redis import Redis
from rq import Queue, Retry

from bot.config import Settings

ANSWERS = "answers"  # chat answers: a customer is waiting and LINE's reply token lasts about a minute
EVENTS = "events"  # inbound LINE events: short jobs
DELIVERIES = "deliveries"  # send jobs: a batch of ledger rows each
MAINTENANCE = "maintenance"  # the periodic tick
WORKER_QUEUES = (ANSWERS, EVENTS, DELIVERIES, MAINTENANCE)  # a worker takes them in this order


def event_job_id(event_row_id: int) -> str:
    return f"event-{event_row_id}"


# New events wait in a Redis list; one `drain_events` job at a time is queued to take them. Pushing is one
# pipelined round trip (RPUSH + SET NX), where an RQ enqueue per request would cost a job's serialisation.
PENDING_EVENTS = "events:pending"
DRAIN_QUEUED = "events:drain-queued"
DRAIN_BATCH = 200
DRAIN_FLAG_TTL_SECONDS = 300  # if a drain job is ever lost, the next push queues a new one after this


def enqueue_events(redis: Redis, settings: Settings, event_row_ids: Sequence[int]) -> None:
    """Hand newly stored events to the worker: push their ids, and queue a drain job unless one is queued."""
    if not event_row_ids:
        return
    pipe = redis.pipeline(transaction=False)
    pipe.rpush(PENDING_EVENTS, *event_row_ids)
    pipe.set(DRAIN_QUEUED, 1, nx=True, ex=DRAIN_FLAG_TTL_SECONDS)
    _, drain_needed = pipe.execute()
    if drain_needed:
        queue_drain(redis, settings)


def queue_drain(redis: Redis, settings: Settings) -> None:
    Queue(EVENTS, connection=redis).enqueue(
        "bot.jobs.drain_events",
        # A fresh id each time: the flag above already keeps it to one queued drain, and a fixed id would
        # overwrite the record of a drain that is running right now.
        job_timeout=settings.event_job_timeout * 10,
        result_ttl=60,
        failure_ttl=7 * 24 * 3600,
    )


def take_pending_events(redis: Redis, settings: Settings) -> list[int]:
    """For the drain job: up to DRAIN_BATCH ids; if more wait, another drain is queued first (fan-out)."""
    redis.delete(DRAIN_QUEUED)
    pipe = redis.pipeline(transaction=False)
    pipe.lpop(PENDING_EVENTS, DRAIN_BATCH)
    pipe.llen(PENDING_EVENTS)
    taken, remaining = pipe.execute()
    if remaining and redis.set(DRAIN_QUEUED, 1, nx=True, ex=DRAIN_FLAG_TTL_SECONDS):
        queue_drain(redis, settings)
    return [int(row_id) for row_id in taken or []]


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
