"""Signed-webhook throughput and latency of POST /callback, next to a bare Flask app on the same gunicorn.

    .venv/bin/python bench/webhook.py                      # PostgreSQL + Redis (production shape)
    .venv/bin/python bench/webhook.py --database sqlite    # the laptop default
    options: --runs 5 --seconds 10 --connections 32 --rate 500 --workers 2 --threads 4

Every request carries a new, correctly signed follow event, so each one is verified, stored (one INSERT
... ON CONFLICT) and enqueued on RQ. No RQ worker runs during the measurement: this is the acknowledge path.
Throughput is closed loop (N keep-alive connections); latency is open loop at a fixed rate. Runs of the two
apps alternate so machine noise hits both; medians are reported.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

from redis import Redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import loadgen
from bench.pg import temporary_database
from bot.platform import migrate
from devtools.line_emulator import webhook_sender

SECRET = "bench-channel-secret"


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
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return process
        except urllib.error.HTTPError:
            return process  # the bare app has no /healthz: a 404 means it is up
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"{target} did not start")


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args()

    tmp = ROOT / "var" / "bench"
    tmp.mkdir(parents=True, exist_ok=True)
    for stale in tmp.glob("bench.db*"):
        stale.unlink()
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    Redis.from_url(redis_url).flushdb()
    stack = ExitStack()
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
    servers = [
        start_gunicorn("app:app", app_port, env, args.workers, args.threads),
        start_gunicorn("bench.bare_app:app", bare_port, env, args.workers, args.threads),
    ]
    try:
        print(
            f"gunicorn (gunicorn.conf.py) gthread --workers {args.workers} --threads {args.threads}; database {args.database}; "
            f"{args.connections} connections; {args.runs} runs of {args.seconds:.0f}s; cores {os.cpu_count()}"
        )
        budget = int(args.seconds * 6000)  # more bodies than any run can send
        app_rps, bare_rps, app_ok = [], [], 0
        for run in range(1, args.runs + 1):
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
            bare_rps.append(bare.rps)
            app_rps.append(app.rps)
            app_ok += app.statuses.get(200, 0)
            print(f"run {run}: bare {bare.summary()}\n       app  {app.summary()}")
        latency = {}
        for name, port in (("bare", bare_port), ("app", app_port)):
            lat_runs = [
                asyncio.run(
                    loadgen.open_loop(
                        "127.0.0.1",
                        port,
                        signed_requests(int(args.rate * args.seconds), port),
                        args.rate,
                        args.seconds,
                    )
                )
                for _ in range(3)
            ]
            for result in lat_runs:
                print(f"{args.rate:.0f} req/s open loop, {name}: {result.summary()}")
            if name == "app":
                app_ok += sum(result.statuses.get(200, 0) for result in lat_runs)
            latency[name] = (
                loadgen.median([r.percentile(50) for r in lat_runs]),
                loadgen.median([r.percentile(99) for r in lat_runs]),
            )
        stored = stored_events(database_url)
        ratio = loadgen.median(app_rps) / loadgen.median(bare_rps)
        print("\nsummary (medians)")
        print(
            f"  throughput   app {loadgen.median(app_rps):,.0f} req/s   bare {loadgen.median(bare_rps):,.0f} req/s"
            f"   ratio {ratio:.0%} (target >= 70%)"
        )
        for name, (p50, p99) in latency.items():
            print(
                f"  at {args.rate:.0f} req/s  {name:4} p50 {p50 * 1000:.1f} ms  p99 {p99 * 1000:.1f} ms"
                + ("  (target p99 <= 50 ms)" if name == "app" else "")
            )
        print(f"  check        {app_ok} answered 200, {stored} events stored")
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=15)
        stack.close()


if __name__ == "__main__":
    main()
