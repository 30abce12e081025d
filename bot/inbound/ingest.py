"""Group commit for the webhook: events from concurrent requests are stored and enqueued together.

Each request hands its events to the process's ingestor and waits for the commit that includes them, so a
200 still means "stored durably". While one batch is being written the next one gathers, so a busy web
process makes one INSERT and one Redis round trip for many requests, and an idle one adds no delay.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from redis.exceptions import RedisError

log = logging.getLogger(__name__)

MAX_BATCH_EVENTS = 500  # below SQLAlchemy's 1000-row insertmanyvalues page: one statement a batch


@dataclass
class _Pending:
    rows: list[dict]
    result: Future


class Ingestor:
    """One writer thread per process; `submit()` blocks until the caller's rows are committed."""

    def __init__(
        self,
        store: Callable[[list[dict]], dict[str, int]],
        enqueue: Callable[[list[int]], None],
    ) -> None:
        self._store = store
        self._enqueue = enqueue
        self._pending: queue.SimpleQueue[_Pending] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._writing_since: float | None = None  # monotonic start of the batch being written, if any

    def submit(self, rows: list[dict], timeout: float) -> int:
        """Store `rows` (deduplicated by key); returns how many were new. Raises what the store raised, or
        TimeoutError: after `timeout`, or at once while the writer has been stuck longer than that (a hung
        database must not hold a web thread per LINE request)."""
        self._ensure_thread()
        since = self._writing_since
        if since is not None and time.monotonic() - since > timeout:
            raise TimeoutError("the webhook's writer is waiting on the database")
        pending = _Pending(rows, Future())
        self._pending.put(pending)
        return pending.result.result(timeout=timeout)

    def _ensure_thread(self) -> None:
        # Started lazily, so it lives in the process that serves (after gunicorn forks), not in the master.
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="ingestor", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while True:
            batch = [self._pending.get()]
            size = len(batch[0].rows)
            while size < MAX_BATCH_EVENTS:
                try:
                    batch.append(self._pending.get_nowait())
                except queue.Empty:
                    break
                size += len(batch[-1].rows)
            self._write(batch)

    def _write(self, batch: list[_Pending]) -> None:
        self._writing_since = time.monotonic()
        try:
            self._store_and_enqueue(batch)
        except Exception as exc:  # noqa: BLE001 -- every waiting request answers 503; LINE redelivers
            for pending in batch:
                if not pending.result.done():
                    pending.result.set_exception(exc)
        finally:
            self._writing_since = None

    def _store_and_enqueue(self, batch: list[_Pending]) -> None:
        unique: dict[str, dict] = {}
        for pending in batch:
            for row in pending.rows:
                unique.setdefault(row["webhook_event_id"], row)
        new_ids = self._store(list(unique.values()))
        try:
            self._enqueue(sorted(new_ids.values()))
        except RedisError as exc:
            # Stored, so acknowledged; the worker's periodic tick enqueues them once Redis is back.
            log.warning("webhook: enqueue of %s events deferred (%s)", len(new_ids), type(exc).__name__)
        claimed: set[str] = set()
        for pending in batch:
            keys = {row["webhook_event_id"] for row in pending.rows} & (new_ids.keys() - claimed)
            claimed |= keys
            pending.result.set_result(len(keys))
