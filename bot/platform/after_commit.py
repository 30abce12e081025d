"""Work queued for when the caller's transaction has committed: a job reads what the transaction wrote, so it
must not run before the commit, and nothing is queued when the transaction rolls back.

Each kind of work (`key`: staff notices, attachment fetches, rich menu switches, chat signals) collects its items
in the session until the commit, then hands them, in order, to its `enqueue(redis, items)` once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.orm import Session

from bot.platform.runtime import current

log = logging.getLogger(__name__)
Enqueue = Callable[[Redis, list[Any]], None]


def after_commit(session: Session, key: str, items: Iterable[Any], enqueue: Enqueue) -> None:
    """Hand `items` to `enqueue` once `session` commits (with those of other calls under the same `key`)."""
    pending = session.info.get(key)
    if pending is None:
        session.info[key] = pending = []
        event.listen(session, "after_commit", partial(_run, key, enqueue), once=True)
        event.listen(session, "after_rollback", partial(_drop, key), once=True)
    pending.extend(items)


def _run(key: str, enqueue: Enqueue, session: Session) -> None:
    items = session.info.pop(key, [])
    if not items:
        return
    try:
        enqueue(current().redis, items)
    except RuntimeError:  # not in a worker or the web app (a script): each kind says how its rows are resumed
        log.warning("%s: %d recorded outside a worker; not queued", key, len(items))
    except RedisError:
        log.warning("%s: %d not queued (Redis); the periodic tick or a resend takes them up", key, len(items))


def _drop(key: str, session: Session) -> None:
    session.info.pop(key, None)
