"""CPU per webhook request inside one process (no sockets), to see where the time goes.

    .venv/bin/python bench/webhook_cpu.py            # PostgreSQL + Redis on this machine
    options: --requests 4000 --threads 16 --repeat 3

Calls the WSGI app from N threads with pre-signed bodies and reports process CPU per request (median of
the repeats) for: the bare Flask app; our full path; our path with the database and Redis writes replaced
by no-ops (parsing and the hand-off to the ingest thread); and a Redis-first acknowledgement
(SET NX + RPUSH in the request thread, the common LINE-bot pattern) for comparison.
"""

from __future__ import annotations

import argparse
import io
import os
import secrets
import statistics
import sys
import threading
import time
from pathlib import Path

from redis import Redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import bare_app
from bench.pg import temporary_database
from bot.platform.config import Settings
from devtools.line_emulator import webhook_sender

SECRET = "bench-channel-secret"


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
    lanes = [threading.Thread(target=lane) for _ in range(threads)]
    for thread in lanes:
        thread.start()
    for thread in lanes:
        thread.join()
    return (time.process_time() - cpu) / requests * 1e6, requests / (time.perf_counter() - wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with temporary_database() as database_url:
        redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
        Redis.from_url(redis_url).flushdb()
        settings = Settings(line_channel_secret=SECRET, database_url=database_url, redis_url=redis_url)
        print(
            f"{args.requests} requests from {args.threads} threads, median of {args.repeat}; cores {os.cpu_count()}"
        )
        for variant in ("bare", "full", "handoff only", "redis-first"):
            app = build(variant, settings)
            results = [run(app, args.requests, args.threads) for _ in range(args.repeat)]
            cpu = statistics.median(result[0] for result in results)
            rate = statistics.median(result[1] for result in results)
            print(f"  {variant:13} {cpu:6.0f} µs CPU per request   {rate:7,.0f} req/s")


if __name__ == "__main__":
    main()
