"""RQ queues and how work is put on them: deterministic job ids, retries with backoff, and how long a send job
may hold its ledger rows."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry
from rq.job import Job, JobStatus

from bot.platform.config import Settings

log = logging.getLogger(__name__)

ANSWERS = "answers"  # chat answers: a customer is waiting and LINE's reply token lasts about a minute
EVENTS = "events"  # inbound LINE events: short jobs
SENDS = "deliveries"  # send jobs: a batch of ledger rows each (the Redis name kept for jobs already queued)
MAINTENANCE = "maintenance"  # the periodic tick
FETCHES = (
    "fetches"  # photos, videos and files customers sent, fetched from LINE: large, and nobody waits on them
)
WORKER_QUEUES = (ANSWERS, EVENTS, SENDS, FETCHES, MAINTENANCE)  # a worker takes them in this order


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
        "bot.jobs.tasks.drain_events",
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
        queue.enqueue_in(timedelta(seconds=delay), "bot.jobs.tasks.process_event", event_row_id, **options)
    else:
        queue.enqueue("bot.jobs.tasks.process_event", event_row_id, **options)


# ── send jobs: bot/delivery/outbox.py hands ledger rows to them, bot/delivery/sending.py runs them ──────────────────────────
#
# A row handed to a send job is claimed until `handed + DISPATCH_CLAIM` and names its job (`send_job`). The job
# takes its rows over when it starts: they are then claimed for `SEND_CLAIM_SECONDS` (settings; the job's RQ
# time-out is the same, so RQ stops a slow job before its claim runs out). Every dispatch first asks RQ about
# the jobs rows were handed to: rows of a job RQ no longer holds are handed out again at once.
SEND_QUEUES = (ANSWERS, SENDS)
DISPATCH_CLAIM = timedelta(hours=1)  # a backstop: a queued job RQ still holds keeps its rows this long
# A job is queued just after its rows are handed to it, and takes them as it starts: past this, one that RQ holds
# neither queued nor started is lost. At most the smallest SEND_CLAIM_SECONDS (30 s).
HANDOFF_GRACE = timedelta(seconds=10)
SEND_RESULT_TTL = 600
SEND_FAILURE_TTL = 7 * 24 * 3600


def new_send_job_id() -> str:
    return f"send-{uuid.uuid4().hex}"


def enqueue_send(
    redis: Redis, settings: Settings, queue: str, job_id: str, channel: str, ids: list[int], claim: str
) -> None:
    """Queue the send job `job_id` for the ledger rows `ids` handed to it under `claim`."""
    Queue(queue, connection=redis).enqueue(
        "bot.delivery.sending.send_deliveries",
        channel,
        ids,
        claim,
        job_id=job_id,
        job_timeout=settings.send_claim_seconds,
        result_ttl=SEND_RESULT_TTL,
        failure_ttl=SEND_FAILURE_TTL,
    )


def lost_send_jobs(redis: Redis, job_ids: Collection[str], now: datetime) -> set[str]:
    """The send jobs among `job_ids` that will never take their rows over: RQ has forgotten them (Redis lost its
    data), they ended (failed before taking them), or they started more than HANDOFF_GRACE ago and have still
    not taken them (their worker died first). A job still waiting in its queue, or just started, is alive."""
    if not job_ids:
        return set()
    pipe = redis.pipeline(transaction=False)
    for name in SEND_QUEUES:
        pipe.lrange(Queue(name, connection=redis).key, 0, -1)
    waiting = {job_id.decode() for listed in pipe.execute() for job_id in listed}
    rest = sorted(set(job_ids) - waiting)
    lost = set()
    for job_id, job in zip(rest, Job.fetch_many(rest, connection=redis), strict=True):
        started = job is not None and job.get_status(refresh=False) == JobStatus.STARTED
        if not (started and job.started_at and job.started_at > now - HANDOFF_GRACE):
            lost.add(job_id)
    return lost


# ── staff notices: bot/delivery/notices.py sends them; a passing failure fails the job, and RQ runs it again ──────
NOTICE_RETRY = Retry(max=3, interval=[10, 60, 300])
NOTICE_ATTEMPTS = 1 + NOTICE_RETRY.max  # the job's last run gives up on a notice and alerts


MENU_SWITCH_RETRY = Retry(
    max=3, interval=[5, 30, 120]
)  # LINE busy or unreachable: the menu follows a bit later


def enqueue_menu_switch(redis: Redis, customer_ids: list[int]) -> None:
    """Queue the rich menu switch of customers whose state changed (bot/chat/richmenus.py); a lost one is put
    right by the next switch or `flask richmenu sync`."""
    try:
        Queue(ANSWERS, connection=redis).enqueue(
            "bot.jobs.tasks.switch_rich_menus",
            customer_ids,
            retry=MENU_SWITCH_RETRY,
            result_ttl=SEND_RESULT_TTL,
            failure_ttl=SEND_FAILURE_TTL,
        )
    except RedisError:
        log.warning("rich menu switch of %d customers not queued (Redis)", len(customer_ids))


# ── attachments: bot/chat/attachments.py fetches them; a video LINE is still preparing is asked for again ──────────
# LINE prepares a video in seconds to minutes; a passing failure (LINE busy, S3 down) is retried the same way. The
# last try gives up and tells the customer.
FETCH_RETRY = Retry(max=6, interval=[5, 15, 30, 60, 120, 300])
FETCH_TIMEOUT = 180  # seconds: a 50 MB video over a slow link


def fetch_job_id(attachment_id: int) -> str:
    return f"attachment-{attachment_id}"


def fetch_alive(redis: Redis, attachment_id: int) -> bool:
    """Whether RQ still holds the attachment's fetch job, waiting, scheduled for a retry or running."""
    job = Job.fetch_many([fetch_job_id(attachment_id)], connection=redis)[0]
    alive = (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.STARTED, JobStatus.DEFERRED)
    return job is not None and job.get_status(refresh=False) in alive


def enqueue_fetches(redis: Redis, attachment_ids: Sequence[int]) -> None:
    """One fetch job per attachment (a fixed id: queued twice, it is still one job)."""
    queue = Queue(FETCHES, connection=redis)
    for attachment_id in attachment_ids:
        queue.enqueue(
            "bot.jobs.attachments.fetch_attachment",
            attachment_id,
            job_id=fetch_job_id(attachment_id),
            retry=FETCH_RETRY,
            job_timeout=FETCH_TIMEOUT,
            result_ttl=SEND_RESULT_TTL,
            failure_ttl=SEND_FAILURE_TTL,
        )
