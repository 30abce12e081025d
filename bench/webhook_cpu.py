"""CPU per webhook request inside one process (no sockets), to see where the time goes.

    .venv/bin/python bench/webhook_cpu.py            # PostgreSQL + Redis on this machine
    .venv/bin/python bench/webhook_cpu.py --smoke    # a few dozen requests
    options: --requests 4000 --threads 16 --runs 3

Calls the WSGI app from N threads with pre-signed bodies and reports process CPU per request (median of
the runs) for: the bare Flask app; our full path; our path with the database and Redis writes replaced
by no-ops (parsing and the hand-off to the ingest thread); and a Redis-first acknowledgement
(SET NX + RPUSH in the request thread, the common LINE-bot pattern) for comparison. It explains
bench/webhook.py's figures and has no goal of its own. PostgreSQL from BENCH_POSTGRES_URL, Redis from
BENCH_REDIS_URL (flushed).
"""

from __future__ import annotations

import argparse
import io
import os
import secrets
import sys
import threading
import time
from pathlib import Path

from redis import Redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import bare_app
from bench.pg import temporary_database
from bench.report import Runs, add_run_options, print_no_goal
from bot.platform.config import Settings
from devtools.line_emulator import webhook_sender

SECRET = "bench-channel-secret"
LANE_SECONDS = 300  # for all of a run's requests to be answered


class RedisFirst:
    """Acknowledge after Redis only; the database write would happen in the worker."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    def submit(self, rows: list[dict], timeout: float) -> int:
        pipe = self.redis.pipeline(transaction=False)
        for row in rows:
            pipe.set("bench:evt:" + row["webhook_event_id"], 1, nx=True, ex=3600)
            pipe.rpush("bench:events", row["payload"])
        pipe.execute()
        return len(rows)


def build(variant: str, settings: Settings):
    if variant == "bare":
        return bare_app.app
    from app import create_app

    app = create_app(settings)
    ingestor = app.extensions["ingestor"]
    if variant == "handoff only":
        ingestor._store = lambda rows: {row["webhook_event_id"]: i for i, row in enumerate(rows)}
        ingestor._enqueue = lambda ids: None
    elif variant == "redis-first":
        app.extensions["ingestor"] = RedisFirst(app.extensions["runtime"].redis)
    return app


def environ() -> dict:
    event = webhook_sender.event(
        "follow",
        webhook_sender.new_user_id(),
        replyToken=secrets.token_hex(16),
        follow={"isUnblocked": False},
    )
    body = webhook_sender.payload(event)
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/callback",
        "SERVER_NAME": "bench",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_X_LINE_SIGNATURE": webhook_sender.sign(body, SECRET),
        "wsgi.input": io.BytesIO(body),
    }


def run(app, requests: int, threads: int) -> tuple[float, float]:
    """(CPU µs per request, requests per second of wall time)."""
    pending = iter([environ() for _ in range(requests)])
    lock = threading.Lock()

    def lane() -> None:
        while True:
            with lock:
                env = next(pending, None)
            if env is None:
                return
            b"".join(app.wsgi_app(env, lambda status, headers: None))

    cpu, wall = time.process_time(), time.perf_counter()
    # daemon threads: a lane stuck in the app cannot keep the process alive once the bench gives up
    lanes = [threading.Thread(target=lane, daemon=True) for _ in range(threads)]
    for thread in lanes:
        thread.start()
    deadline = time.monotonic() + LANE_SECONDS
    for thread in lanes:
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            raise SystemExit(
                f"bench: {requests} requests not all answered within {LANE_SECONDS} s; giving up"
            )
    return (time.process_time() - cpu) / requests * 1e6, requests / (time.perf_counter() - wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--threads", type=int, default=16)
    add_run_options(parser)
    args = parser.parse_args()
    if args.smoke:
        args.requests, args.threads = 40, 4
    os.environ.setdefault("LOG_LEVEL", "WARNING")  # the app's INFO line per request would bury the figures
    runs = Runs()
    with temporary_database() as database_url:
        redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
        Redis.from_url(redis_url).flushdb()
        settings = Settings(line_channel_secret=SECRET, database_url=database_url, redis_url=redis_url)
        print(
            f"{args.requests} requests from {args.threads} threads, {args.runs} run(s); cores {os.cpu_count()}"
        )
        for variant in ("bare", "full", "handoff only", "redis-first"):
            app = build(variant, settings)
            for _ in range(args.runs):
                cpu, rate = run(app, args.requests, args.threads)
                runs.add(f"{variant}: CPU per request", cpu, "{:,.0f} µs")
                runs.add(f"{variant}: requests/s", rate, "{:,.0f} /s")
    runs.print_medians()
    print_no_goal("it breaks down the CPU of bench/webhook.py's acknowledgement")


if __name__ == "__main__":
    main()
