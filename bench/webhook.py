"""Signed-webhook throughput and latency of POST /callback, next to a bare Flask app on the same gunicorn.

    .venv/bin/python bench/webhook.py                      # PostgreSQL + Redis (production shape), 3 runs
    .venv/bin/python bench/webhook.py --database sqlite    # the laptop default
    .venv/bin/python bench/webhook.py --smoke              # a fraction of a second per measurement
    options: --runs 3 --seconds 10 --connections 32 --rate 500 --workers 2 --threads 16

Every request carries a new, correctly signed follow event, so each one is verified, stored (one INSERT
... ON CONFLICT) and enqueued on RQ. No RQ worker runs during the measurement: this is the acknowledge path,
and a 200 is a durable acknowledgement (the event's row has committed). Throughput is closed loop (N keep-alive
connections); latency is open loop at a fixed rate. Within each run the two apps alternate so machine noise hits
both; medians of the runs are reported. Goals: >= 1,000 durable acks/s per 2 cores (the rate scaled by
2 / this machine's cores) and p99 <= 50 ms at 500 req/s; the ratio to bare Flask is printed beside them.
PostgreSQL from BENCH_POSTGRES_URL, Redis from BENCH_REDIS_URL (flushed).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import subprocess
import sys
import urllib.request
from contextlib import ExitStack
from pathlib import Path

from redis import Redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import loadgen
from bench.deadline import stop, wait_until
from bench.pg import temporary_database
from bench.report import Goal, Runs, add_run_options, print_goals
from bot.platform import migrate
from devtools.line_emulator import webhook_sender

SECRET = "bench-channel-secret"
START_SECONDS = 60  # gunicorn's workers import the whole app: slow on a busy machine, never this slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(
    target: str, port: int, env: dict[str, str], workers: int, threads: int
) -> subprocess.Popen:
    # Both apps run with the repo's gunicorn.conf.py (as in production), overriding only bind and sizes.
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        target,
        "--config",
        str(ROOT / "gunicorn.conf.py"),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)

    def answering() -> bool:
        if process.poll() is not None:
            raise SystemExit(f"bench: gunicorn {target} exited with {process.returncode} while starting")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
        except urllib.error.HTTPError:
            return True  # the bare app has no /healthz: a 404 means it is up
        except OSError:
            return False
        return True

    try:
        wait_until(answering, START_SECONDS, f"gunicorn {target} answering on port {port}", interval=0.1)
    except SystemExit:
        stop(process)
        raise
    return process


def signed_requests(count: int, port: int) -> list[bytes]:
    requests = []
    for _ in range(count):
        event = webhook_sender.event(
            "follow",
            webhook_sender.new_user_id(),
            replyToken=secrets.token_hex(16),
            follow={"isUnblocked": False},
        )
        body = webhook_sender.payload(event)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "LineBotWebhook/2.0",
            "X-Line-Signature": webhook_sender.sign(body, SECRET),
        }
        requests.append(loadgen.build_request("127.0.0.1", port, "/callback", body, headers))
    return requests


def prepare_database(kind: str, tmp: Path, stack: ExitStack) -> str:
    if kind == "sqlite":
        url = f"sqlite:///{tmp / 'bench.db'}"
        migrate.upgrade(url)
        return url
    return stack.enter_context(temporary_database())


def stored_events(database_url: str) -> int:
    from sqlalchemy import text

    from bot.platform.db import make_engine

    engine = make_engine(database_url)
    with engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM webhook_events")).scalar_one()
    engine.dispose()
    return count


def measure(args: argparse.Namespace, app_port: int, bare_port: int, runs: Runs) -> int:
    """One run: closed-loop throughput then open-loop latency, bare Flask then the app; the app's 200s."""
    budget = int(args.seconds * 6000)  # more bodies than any run can send
    scale = 2 / (os.cpu_count() or 2)  # the goal is per 2 cores
    bare = asyncio.run(
        loadgen.closed_loop(
            "127.0.0.1", bare_port, signed_requests(budget, bare_port), args.connections, args.seconds
        )
    )
    app = asyncio.run(
        loadgen.closed_loop(
            "127.0.0.1", app_port, signed_requests(budget, app_port), args.connections, args.seconds
        )
    )
    print(f"  closed loop  bare {bare.summary()}\n               app  {app.summary()}")
    acks = app.statuses.get(200, 0)
    runs.add("bare Flask req/s", bare.rps, "{:,.0f} req/s")
    runs.add("app durable acks/s", acks / app.elapsed, "{:,.0f} /s")
    runs.add("app durable acks/s per 2 cores", acks / app.elapsed * scale, "{:,.0f} /s")
    runs.add("app / bare Flask (req/s)", app.rps / bare.rps if bare.rps else float("nan"), "{:.0%}")
    count = max(1, int(args.rate * args.seconds))
    for name, port in (("bare", bare_port), ("app", app_port)):
        result = asyncio.run(
            loadgen.open_loop("127.0.0.1", port, signed_requests(count, port), args.rate, args.seconds)
        )
        print(f"  {args.rate:.0f} req/s open loop, {name}: {result.summary()}")
        runs.add(f"{name} p50 at {args.rate:.0f} req/s", result.percentile(50) * 1000, "{:.1f} ms")
        runs.add(f"{name} p99 at {args.rate:.0f} req/s", result.percentile(99) * 1000, "{:.1f} ms")
        if name == "app":
            acks += result.statuses.get(200, 0)
    return acks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=16)
    add_run_options(parser)
    args = parser.parse_args()
    if args.smoke:
        args.seconds, args.connections, args.workers, args.threads = 0.3, 4, 1, 4

    tmp = ROOT / "var" / "bench"
    tmp.mkdir(parents=True, exist_ok=True)
    for stale in tmp.glob("bench.db*"):
        stale.unlink()
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    Redis.from_url(redis_url).flushdb()
    with ExitStack() as stack:
        database_url = prepare_database(args.database, tmp, stack)
        env = dict(
            os.environ,
            LINE_CHANNEL_SECRET=SECRET,
            LINE_CHANNEL_ACCESS_TOKEN="bench",
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            LOG_LEVEL="WARNING",
            LOCAL_MODE="1",  # a laptop: the sample sender identity is fine (outside local mode the app refuses it)
            PYTHONPATH=str(ROOT),
        )
        app_port, bare_port = free_port(), free_port()
        for target, port in (("app:app", app_port), ("bench.bare_app:app", bare_port)):
            server = start_gunicorn(target, port, env, args.workers, args.threads)
            stack.callback(stop, server)
        print(
            f"gunicorn (gunicorn.conf.py) gthread --workers {args.workers} --threads {args.threads}; database"
            f" {args.database}; {args.connections} connections; {args.runs} runs of {args.seconds}s;"
            f" cores {os.cpu_count()}"
        )
        runs, acks = Runs(), 0
        for run in range(1, args.runs + 1):
            print(f"run {run}:")
            acks += measure(args, app_port, bare_port, runs)
        stored = stored_events(database_url)
        print(f"check: {acks} acknowledged with 200, {stored} events stored")
        if stored < acks:
            raise SystemExit(f"bench: {acks - stored} acknowledged events are not in the database")
    runs.print_medians()
    print_goals(
        Goal(
            "webhook/durable acks per 2 cores",
            runs.median("app durable acks/s per 2 cores"),
            ">=",
            1000,
            "{:,.0f} /s",
        ),
        Goal(
            f"webhook/p99 at {args.rate:.0f} req/s",
            runs.median(f"app p99 at {args.rate:.0f} req/s"),
            "<=",
            50,
            "{:.1f} ms",
        ),
    )
    print(
        f"  (beside the goals: the app answers {runs.median('app / bare Flask (req/s)'):.0%} of bare Flask's req/s)"
    )


if __name__ == "__main__":
    main()
