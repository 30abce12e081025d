"""A bulkhead with a deadline: at most `size` calls of one kind run at once, each on its own thread, and the
caller waits at most `timeout` for the answer.

For database calls a web request can do without (the opt-out page): when the database hangs, the stuck calls
keep their places and later callers are told `Unavailable` at once, instead of each holding a web thread
that the LINE webhook needs. A call that outlives its caller still finishes (or fails) on its own thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class Unavailable(Exception):
    """Every place is taken, or the answer did not come in time."""


class Bulkhead:
    def __init__(self, size: int, timeout: float, name: str) -> None:
        self.timeout = timeout
        self._places = threading.BoundedSemaphore(size)
        self._threads = ThreadPoolExecutor(max_workers=size, thread_name_prefix=name)

    def call(self, function: Callable[[], T]) -> T:
        """`function()`'s result or exception; `Unavailable` when full or late."""
        if not self._places.acquire(blocking=False):
            raise Unavailable("every place is taken")
        future = self._threads.submit(self._run, function)
        try:
            return future.result(timeout=self.timeout)
        except TimeoutError:
            raise Unavailable(f"no answer within {self.timeout} s") from None

    def _run(self, function: Callable[[], T]) -> T:
        try:
            return function()
        finally:
            self._places.release()
