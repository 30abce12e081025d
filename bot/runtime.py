"""The parts a process runs on (settings, database, Redis, handler router), built by a composition root.

`app.py` and `worker.py` build a Runtime; RQ jobs reach the worker's through `current()`.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis import Redis
from sqlalchemy import Engine

from bot.config import Settings
from bot.db import make_engine
from bot.redis_conn import connect, resolve_redis_url
from bot.router import Router


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    redis: Redis
    router: Router | None = None


def build_runtime(settings: Settings, router: Router | None = None) -> Runtime:
    """Connect to the configured (or embedded) database and Redis."""
    redis_url = resolve_redis_url(settings.redis_url, settings.data_dir)
    return Runtime(
        settings=settings,
        engine=make_engine(settings.effective_database_url),
        redis=connect(redis_url),
        router=router,
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
