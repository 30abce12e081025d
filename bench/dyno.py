"""The service within a Heroku-like platform's limits: how long web and worker take to boot (web must answer on
$PORT within 60 s), and how much memory each uses idle and under load (512 MB is the common small dyno).

    .venv/bin/python bench/dyno.py                 # PostgreSQL + Redis (production shape), 3 runs
    .venv/bin/python bench/dyno.py --smoke         # seconds: proves the bench still runs
    options: --runs 3 --seconds 10 --connections 16

Per run: `gunicorn app:app` with the repo's gunicorn.conf.py (WEB_CONCURRENCY and WEB_THREADS as set, else its
defaults) is started and timed until /healthz answers 200; `python worker.py` is started and timed until RQ
lists it in Redis. Their resident memory is read idle, then while signed friend-adds arrive for --seconds on
--connections keep-alive connections (web), and while the worker processes them for as long again: each is a
job that stores the friend, greets them by a reply to the LINE emulator and records it (worker). Web's figure is the dyno's: gunicorn's master and all its
workers together. PostgreSQL from BENCH_POSTGRES_URL, Redis from BENCH_REDIS_URL (flushed).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import Self

import psutil
from redis import Redis
from rq import Queue, Worker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import loadgen
from bench.deadline import stop, wait_until
from bench.pg import temporary_database
from bench.report import Goal, Runs, add_run_options, print_goals
from bench.webhook import SECRET, free_port, signed_requests
from bot.jobs.queues import WORKER_QUEUES
from devtools.line_emulator import LineEmulator
from tests.factories import OWN_SERVICE_SETTINGS

BOOT_LIMIT_SECONDS = 60.0  # the platform's limit for web to bind $PORT
DYNO_MB = 512.0  # the common small dyno
START_SECONDS = 90  # a process not up after this ends the bench


def rss_mb(process: subprocess.Popen) -> float:
    """Resident memory of `process` and its children (gunicorn's workers), in MB."""
    try:
        parent = psutil.Process(process.pid)
        members = [parent, *parent.children(recursive=True)]
        return sum(member.memory_info().rss for member in members) / 1e6
    except psutil.NoSuchProcess:
        return float("nan")


class Peak:
    """The highest RSS of a process seen while sampling it (every 0.1 s) in a background thread."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.process, self.mb = process, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.is_set():
            value = rss_mb(self.process)
            if not math.isnan(value):
                self.mb = max(self.mb, value)
            self._stop.wait(0.1)


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("a"), stderr=subprocess.STDOUT)


def web_answers(process: subprocess.Popen, port: int) -> bool:
    if process.poll() is not None:
        raise SystemExit(f"bench: web exited with {process.returncode} while starting")
    try:
        return urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).status == 200
    except OSError:
        return False


def worker_registered(process: subprocess.Popen, redis: Redis) -> bool:
    if process.poll() is not None:
        raise SystemExit(f"bench: worker exited with {process.returncode} while starting")
    return any(worker.pid == process.pid for worker in Worker.all(connection=redis))


def queued_jobs(redis: Redis) -> int:
    return sum(Queue(name, connection=redis).count for name in WORKER_QUEUES)


def one_run(args: argparse.Namespace, env: dict[str, str], redis: Redis, runs: Runs, folder: Path) -> None:
    port = free_port()
    web_env = env | {"PORT": str(port)}
    started = time.perf_counter()
    web = start([sys.executable, "-m", "gunicorn", "app:app"], web_env, folder / "web.log")
    worker = None
    try:
        wait_until(lambda: web_answers(web, port), START_SECONDS, "web answering /healthz", interval=0.05)
        runs.add("web boot", time.perf_counter() - started, "{:.2f} s")
        started = time.perf_counter()
        worker = start([sys.executable, "worker.py"], env, folder / "worker.log")
        wait_until(
            lambda: worker_registered(worker, redis), START_SECONDS, "the worker registering", interval=0.05
        )
        runs.add("worker boot", time.perf_counter() - started, "{:.2f} s")
        time.sleep(1)  # settled
        runs.add("web RSS idle (master + workers)", rss_mb(web), "{:.0f} MB")
        runs.add("worker RSS idle", rss_mb(worker), "{:.0f} MB")
        requests = signed_requests(int(args.seconds * 3000), port)
        with Peak(web) as web_peak, Peak(worker) as worker_peak:
            result = asyncio.run(
                loadgen.closed_loop("127.0.0.1", port, requests, args.connections, args.seconds)
            )
            # the worker works through them (a job each: store, greet, record) for as long again
            processing_until = time.monotonic() + args.seconds
            while queued_jobs(redis) and time.monotonic() < processing_until:
                time.sleep(0.1)
        acknowledged = result.statuses.get(200, 0)
        if not acknowledged:
            raise SystemExit(f"bench: no webhook acknowledged ({result.statuses}); see {folder / 'web.log'}")
        runs.add("webhooks acknowledged", acknowledged)
        runs.add("web RSS peak under webhooks", web_peak.mb, "{:.0f} MB")
        runs.add("worker RSS peak processing them", worker_peak.mb, "{:.0f} MB")
    finally:
        stop(web)
        if worker is not None:
            stop(worker)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_run_options(parser)
    parser.add_argument("--seconds", type=float, default=10.0, help="of webhooks per run")
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    if args.smoke:
        args.seconds = 0.5
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    redis = Redis.from_url(redis_url)
    runs = Runs()
    print(
        f"web: WEB_CONCURRENCY={os.environ.get('WEB_CONCURRENCY', '2')} WEB_THREADS="
        f"{os.environ.get('WEB_THREADS', '16')}; {args.runs} run(s); cores {os.cpu_count()}"
    )
    with ExitStack() as stack, LineEmulator(channel_access_token="bench-token") as line:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-dyno-")))
        database_url = stack.enter_context(temporary_database())
        env = os.environ | {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "LINE_CHANNEL_SECRET": SECRET,
            "LINE_CHANNEL_ACCESS_TOKEN": "bench-token",
            "LINE_API_BASE_URL": line.base_url,
            "DATA_DIR": str(folder),
            "LOG_LEVEL": "WARNING",
            **OWN_SERVICE_SETTINGS,  # the production start: not the sample identity, a key
        }
        for run in range(args.runs):
            redis.flushdb()
            one_run(args, env, redis, runs, folder)
            print(
                f"run {run + 1}: "
                + ", ".join(f"{name} {runs.median(name):.1f}" for name in ("web boot", "worker boot"))
            )
    runs.print_medians()
    print_goals(
        Goal("platform/web boot", runs.median("web boot"), "<=", BOOT_LIMIT_SECONDS, "{:.1f} s"),
        Goal(
            "platform/web RSS under load",
            runs.median("web RSS peak under webhooks"),
            "<=",
            DYNO_MB,
            "{:.0f} MB",
        ),
        Goal(
            "platform/worker RSS under load",
            runs.median("worker RSS peak processing them"),
            "<=",
            DYNO_MB,
            "{:.0f} MB",
        ),
    )
    print(f"\nreproduce: .venv/bin/python bench/dyno.py --runs {args.runs} --seconds {args.seconds:g}")


if __name__ == "__main__":
    main()
