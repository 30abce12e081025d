"""The worker's warm shutdown, as a platform restarts it: SIGTERM, then SIGKILL 30 s later (at least daily).

RQ finishes the job in hand on the first SIGTERM and then exits. A job that could run for minutes (the tick on
a renewal day advances every due enrollment) asks `stopping()` between its batches and ends early: what it did
is committed batch by batch, and the rest is still due for the next tick in the next process."""

from __future__ import annotations

import logging
import threading
from typing import Any

from rq import SimpleWorker

log = logging.getLogger(__name__)
_requested = threading.Event()


def stopping() -> bool:
    """The process was asked to stop: a long job should end at its next batch."""
    return _requested.is_set()


class StoppableWorker(SimpleWorker):
    """RQ's in-process worker that also tells the job in hand (through `stopping()`) when a stop is asked."""

    def request_stop(self, signum: Any, frame: Any) -> None:
        log.info("worker: stop requested; the job in hand ends at its next batch")
        _requested.set()
        super().request_stop(signum, frame)
