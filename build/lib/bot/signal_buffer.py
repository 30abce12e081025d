"""Tracking signals kept until the database takes them, so that the tracking links never wait on it.

Clicks and opens always come this way: a broadcast brings thousands of them a minute, and written in the
request they would hold web threads and pooled connections the LINE webhook needs, and fail with the
database. One-click opt-outs come this way only when the database does not answer in time (they are written
at once otherwise). The web pushes each signal onto a Redis list, or, when Redis is down too, appends it to a
bounded spool file under `DATA_DIR`, moved to Redis by the next request that reaches Redis. The worker's tick
(and every send job, for opt-outs) applies them with `apply_pending`; the first signal wins, so applying one
twice is harmless.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import Engine

from bot.delivery.engagement import OPT_OUT, Signal, record_signals
from bot.delivery.spool import Spool

log = logging.getLogger(__name__)

SIGNALS = "tracking:signals"  # clicks and opens
OPT_OUTS = "tracking:opt-outs"  # apart, so that a send job can apply them first without the clicks
MAX_PENDING = {SIGNALS: 500_000, OPT_OUTS: 100_000}  # a flood of made-up links must not fill Redis's memory
SPOOL_FILE = "tracking-spool.jsonl"
REDIS_RETRY_SECONDS = 5.0  # after Redis failed, requests go straight to the spool for this long
APPLY_BATCH = 500
APPLY_MAX = 100_000  # per list and run: the tick has other work; the rest waits for the next tick
LOCK_SECONDS = 300
LOCK_WAIT_SECONDS = 30.0

# Push unless the list is full: one round trip, and the length is checked where it cannot race.
_PUSH_BELOW_CAP = """
if redis.call('LLEN', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
return redis.call('RPUSH', KEYS[1], ARGV[1])
"""
# Drop the applied head of the list only while the applier still holds the lock: one that lost it (it ran
# past LOCK_SECONDS) must not drop what another applier has not read.
_TRIM_IF_HOLDER = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('LTRIM', KEYS[2], tonumber(ARGV[2]), -1)
return 1
"""
_RELEASE_IF_HOLDER = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def spool_for(data_dir: Path) -> Spool:
    return Spool(data_dir / SPOOL_FILE)


def list_for(signal: Signal) -> str:
    return OPT_OUTS if signal.kind == OPT_OUT else SIGNALS


class SignalBuffer:
    """The web side: `keep()` never touches the database and never raises."""

    def __init__(self, redis: Redis, spool: Spool, clock: Callable[[], float] = time.monotonic) -> None:
        self._redis = redis
        self._push = redis.register_script(_PUSH_BELOW_CAP)
        self._spool = spool
        self._clock = clock
        self._redis_down_until = 0.0

    def keep(self, signal: Signal) -> bool:
        """Keep `signal` for the tick: in Redis, else in the spool. False only when neither could take it."""
        if self._clock() >= self._redis_down_until:
            try:
                self._move_spool()
                key = list_for(signal)
                if self._push(keys=[key], args=[signal.encode(), MAX_PENDING[key]]):
                    return True
                log.error("tracking: %s is full (a flood of made-up links?)", key)
                if signal.kind != OPT_OUT:
                    return False  # a click or open is let go; an opt-out never is while the spool has room
            except RedisError as exc:
                self._redis_down_until = self._clock() + REDIS_RETRY_SECONDS
                log.warning("tracking: Redis unreachable (%s); signals go to the spool", type(exc).__name__)
        return self._spool.append(signal.encode())

    def _move_spool(self) -> None:
        """What this machine spooled while Redis was down goes to Redis first (the worker cannot read it)."""
        if not self._spool.has_lines():
            return
        try:
            moved = self._spool.drain(lambda lines: push_lines(self._redis, lines))
        except OSError as exc:
            log.error("tracking: spool unreadable (%s)", type(exc).__name__)
            return
        log.info("tracking: %s spooled signals moved to Redis", moved)


def push_lines(redis: Redis, lines: list[str]) -> None:
    """Move spooled lines onto their Redis lists (unreadable lines are dropped with a count)."""
    by_list: dict[str, list[str]] = {}
    unreadable = 0
    for line in lines:
        signal = Signal.decode(line)
        if signal is None:
            unreadable += 1
        else:
            by_list.setdefault(list_for(signal), []).append(line)
    if unreadable:
        log.warning("tracking: %s unreadable spooled lines dropped", unreadable)
    pipe = redis.pipeline(transaction=False)
    for key, values in by_list.items():
        pipe.rpush(key, *values)
    pipe.execute()


def apply_pending(
    engine: Engine,
    redis: Redis,
    now: datetime,
    lists: tuple[str, ...] = (OPT_OUTS, SIGNALS),
    wait: bool = False,
) -> Counter[str]:
    """Record kept signals in the ledger, opt-outs first; `wait` for another applier rather than skip a list
    (a send job must not check permission while an opt-out is half applied)."""
    outcomes: Counter[str] = Counter()
    for key in lists:
        if not redis.llen(key):
            continue
        lock, holder = f"{key}:applying", secrets.token_hex(8)
        if not _acquire(redis, lock, holder, LOCK_WAIT_SECONDS if wait else 0.0):
            continue  # another worker is applying this list right now
        try:
            outcomes += _apply_list(engine, redis, key, lock, holder, now)
        finally:
            redis.eval(_RELEASE_IF_HOLDER, 1, lock, holder)
    if outcomes:
        log.info("tracking: signals applied %s", dict(outcomes))
    return outcomes


def _apply_list(
    engine: Engine, redis: Redis, key: str, lock: str, holder: str, now: datetime
) -> Counter[str]:
    outcomes: Counter[str] = Counter()
    applied = 0
    while applied < APPLY_MAX:
        lines = redis.lrange(key, 0, APPLY_BATCH - 1)
        if not lines:
            break
        signals = [signal for line in lines if (signal := Signal.decode(line)) is not None]
        outcomes["unreadable"] += len(lines) - len(signals)
        with engine.begin() as connection:
            outcomes += record_signals(connection, signals, now)
        if not redis.eval(_TRIM_IF_HOLDER, 2, lock, key, holder, len(lines)):
            break
        applied += len(lines)
    return +outcomes


def _acquire(redis: Redis, lock: str, holder: str, wait_seconds: float) -> bool:
    deadline = time.monotonic() + wait_seconds
    while not redis.set(lock, holder, nx=True, ex=LOCK_SECONDS):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def apply_spool(spool: Spool, redis: Redis) -> int:
    """The worker's side of a spool on its own machine (a laptop, where web and worker share DATA_DIR)."""
    return spool.drain(lambda lines: push_lines(redis, lines)) if spool.has_lines() else 0
