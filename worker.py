"""Worker entry point and composition root: an RQ worker (with scheduler, for retry backoff) plus the tick.

Run as `python worker.py` (Procfile `worker`). Queues, most urgent first: events, maintenance.
"""

from __future__ import annotations

import gc
import sys

from bot.jobs.queues import WORKER_QUEUES
from bot.jobs.shutdown import StoppableWorker
from bot.jobs.ticker import Ticker
from bot.platform import runtime as runtime_module
from bot.platform.config import Settings, StartupRefused, load_service_settings
from bot.platform.i18n import configure_i18n
from bot.platform.logs import configure_logging
from bot.platform.runtime import Runtime, build_runtime
from handlers import build_handlers


def build_worker_runtime(settings: Settings | None = None) -> Runtime:
    """The runtime jobs run on in this process, with every handler registered (settings from the environment
    unless given; the sample sender identity is refused outside local mode, and so is a button or dialog step
    without a handler: StartupRefused)."""
    settings = settings or load_service_settings()
    handlers = build_handlers()
    configure_logging()
    configure_i18n(settings.default_locale)
    runtime = build_runtime(settings, handlers)
    runtime_module.install(runtime)
    return runtime


def main() -> None:
    try:
        runtime = build_worker_runtime()
    except StartupRefused as refused:
        sys.exit(str(refused))  # the reason on stderr, status 1, no traceback
    # What start-up made (modules, the scenario catalogue, the settings) lives as long as the process: kept out of
    # the collector's full passes, which a batch of enrollments triggers several times (bench/engine.py: ~5%).
    gc.freeze()
    # SimpleWorker runs jobs in this process: no fork per job, one database pool, and jobs are short; on SIGTERM
    # it finishes the job in hand (a tick stops at its next batch) and exits (bot/jobs/shutdown.py).
    worker = StoppableWorker(list(WORKER_QUEUES), connection=runtime.redis)
    ticker = Ticker(runtime.redis, runtime.settings.tick_interval_seconds)
    ticker.start()
    try:
        worker.work(with_scheduler=True)
    finally:
        ticker.stopped.set()


if __name__ == "__main__":
    main()
