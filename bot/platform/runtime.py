"""The parts a process runs on (settings, database, Redis, the registered handlers), built by a composition root.

`app.py` and `worker.py` build a Runtime; RQ jobs reach the worker's through `current()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis import Redis
from sqlalchemy import Engine

from bot.platform.config import Settings
from bot.platform.db import Pool, Timeouts, make_engine
from bot.platform.redis_conn import Tls, connect, resolve_redis_url

# LINE gives up on a webhook after 2 s: the webhook answers 503 before that if its events are not committed in
# time (bot/inbound/ingest.py), and its writer connection ends any statement after this long.
INGEST_TIMEOUT_SECONDS = 1.5
QUICK_REDIS_SECONDS = 0.5  # the tracking links' Redis: a hung Redis sends their signals to the spool instead


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    redis: Redis
    # handlers.Handlers (untyped here: bot never imports handlers): the router events go through, and the chat's
    # and the admin chat's registries; the web builds them too, so that both refuse to start on a gap.
    handlers: Any = None
    # The web's fast paths, so that nothing else a web process does can make LINE wait: the webhook's own
    # writer (its own connection, never queued behind other requests for the pool) and a Redis client that
    # gives up in a fraction of a second. Opened on first use: a worker never connects them.
    webhook_engine: Engine | None = None
    quick_redis: Redis | None = None

    def dispose(self) -> None:
        """Close the pooled database and Redis connections (tests build many runtimes in one process; an
        embedded Redis stops only once no client is connected)."""
        for engine in (self.engine, self.webhook_engine):
            if engine is not None:
                engine.dispose()
        for redis in (self.redis, self.quick_redis):
            if redis is not None:
                redis.connection_pool.disconnect()


def database_timeouts(settings: Settings, statement: float | None = None) -> Timeouts:
    return Timeouts(
        connect=settings.database_connect_timeout,
        pool=settings.database_pool_timeout,
        busy=settings.database_busy_timeout,
        statement=statement,
    )


def redis_tls(settings: Settings) -> Tls:
    return Tls(verify=settings.redis_tls_verify, ca_file=settings.redis_tls_ca_file)


def database_pool(settings: Settings, size: int | None = None, overflow: int | None = None) -> Pool:
    return Pool(
        size=settings.database_pool_size if size is None else size,
        overflow=settings.database_max_overflow if overflow is None else overflow,
        transaction_pooler=settings.database_transaction_pooler,
    )


def build_runtime(settings: Settings, handlers: Any = None) -> Runtime:
    """Connect to the configured (or embedded) database and Redis."""
    redis_url = resolve_redis_url(settings.redis_url, settings.data_dir)
    url = settings.effective_database_url
    # The webhook's writer is one thread per process (bot/inbound/ingest.py): one connection is all it uses.
    webhook_pool = database_pool(settings, size=1, overflow=0)
    return Runtime(
        settings=settings,
        engine=make_engine(url, database_timeouts(settings), database_pool(settings)),
        redis=connect(redis_url, tls=redis_tls(settings)),
        handlers=handlers,
        webhook_engine=make_engine(url, database_timeouts(settings, INGEST_TIMEOUT_SECONDS), webhook_pool),
        quick_redis=connect(redis_url, timeout=QUICK_REDIS_SECONDS, tls=redis_tls(settings)),
    )


_current: Runtime | None = None


def install(runtime: Runtime) -> None:
    """Make `runtime` the one this process's jobs use."""
    global _current
    _current = runtime


def current() -> Runtime:
    if _current is None:
        raise RuntimeError("no runtime installed: start jobs through worker.py")
    return _current
