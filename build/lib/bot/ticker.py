"""Enqueues the periodic tick once per interval, however many workers run (a Redis SET NX per slot)."""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue

from bot.jobs.queues import MAINTENANCE
from models import utcnow

log = logging.getLogger(__name__)


def enqueue_tick_once(redis: Redis, interval_seconds: int, now: datetime | None = None) -> bool:
    """Enqueue `bot.jobs.tasks.tick` for the current slot unless some worker already did. True if this call did."""
    now = now or utcnow()
    slot = int(now.timestamp()) // interval_seconds
    slot_start = datetime.fromtimestamp(slot * interval_seconds, now.tzinfo)
    if not redis.set(f"tick:slot:{interval_seconds}:{slot}", 1, nx=True, ex=max(interval_seconds * 10, 600)):
        return False
    Queue(MAINTENANCE, connection=redis).enqueue(
        "bot.jobs.tasks.tick", slot_start.isoformat(), job_id=f"tick-{slot}", job_timeout=interval_seconds * 5
    )
    return True


class Ticker(threading.Thread):
    """Background thread of the worker process; stops with it."""

    def __init__(self, redis: Redis, interval_seconds: int) -> None:
        super().__init__(name="ticker", daemon=True)
        self.redis = redis
        self.interval = interval_seconds
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                enqueue_tick_once(self.redis, self.interval)
            except RedisError as exc:
                log.warning("tick not enqueued (%s); trying again next interval", type(exc).__name__)
            self.stopped.wait(min(self.interval, 5))
