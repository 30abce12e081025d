"""LINE sending speed from one worker host against the LINE emulator (run in its own process):

1. personalised pushes per second, the service's way: send jobs of 500 ledger rows, pushes in parallel over
   kept-alive connections, one statement per 100 rows recorded;
2. the same rows the one-RQ-job-per-recipient way: the same code with batches of one row (a job, a claim, a
   look-up, a connection and a record per recipient);
3. the time for a 1,000,000-recipient broadcast: ledger rows written, then multicasts of 500.

    .venv/bin/python bench/send.py
    options: --pushes 20000 --per-job 3000 --multicast 1000000 --workers 1 --runs 3

The emulator runs in its own process under gunicorn (connections kept alive, as LINE's are) and checks one
request body in 100 against messaging-api.yml (BENCH_VALIDATE_EVERY): checking every body costs the emulator
about 2 ms of CPU a request on this machine's shared cores, a cost LINE's servers do not charge to us. The test
suite checks every body the service sends.

PostgreSQL from BENCH_POSTGRES_URL (a throw-away database), Redis from BENCH_REDIS_URL (db 11, flushed).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import psycopg
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pg import libpq_url, temporary_database
from bot.delivery.broadcasts import queue_broadcast
from bot.delivery.outbox import dispatch_due
from bot.platform.config import Settings
from bot.platform.db import make_engine
from bot.platform.redis_conn import connect
from models import Broadcast, utcnow

TOKEN = "bench-token"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")


def start_emulator() -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devtools.line_emulator",
            "--port",
            "0",
            "--token",
            TOKEN,
            "--max-records",
            "1000",
            "--validate-every",
            os.environ.get("BENCH_VALIDATE_EVERY", "100"),
            "--keep-alive",
            "16",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    return process, process.stdout.readline().strip()


def populate(url: str, customers: int) -> None:
    with psycopg.connect(libpq_url(url)) as conn:
        conn.execute("TRUNCATE customers, broadcasts CASCADE")
        conn.execute(
            "INSERT INTO customers (id, family_name, given_name, created_at, updated_at)"
            " SELECT g, '山田', '花子', now(), now() FROM generate_series(1, %s) g",
            (customers,),
        )
        conn.execute(
            "INSERT INTO customer_channels (customer_id, line_user_id, line_permitted, updated_at)"
            " SELECT g, 'U' || md5(g::text), true, now() FROM generate_series(1, %s) g",
            (customers,),
        )


WARM_UP = 500  # rows sent first, untimed: a worker's first batch pays for imports, caches and connections
# a scenario message personalised by the customer's name only: its rows need no anchor record (a document
# request's follow-up would need the request the bench does not create, and every row would fail)
TEMPLATE = "churn_prevention.a"


def queue_pushes(url: str, count: int) -> None:
    """WARM_UP messages due now, then `count` personalised messages (the name in the text) due tomorrow."""
    with psycopg.connect(libpq_url(url)) as conn:
        conn.execute("DELETE FROM deliveries")
        conn.execute(
            "INSERT INTO deliveries (customer_id, step, template, channel, purpose, status, due_at, attempts,"
            " token, created_at, updated_at)"
            " SELECT g, 'A', %s, 'line', 'transactional', 'queued',"
            " now() + CASE WHEN g <= %s THEN interval '0' ELSE interval '1 day' END, 0,"
            " substr(md5(random()::text || g::text), 1, 16), now(), now() FROM generate_series(1, %s) g",
            (TEMPLATE, WARM_UP, count + WARM_UP),
        )


def sent(url: str) -> int:
    with psycopg.connect(libpq_url(url)) as conn:
        return conn.execute("SELECT count(*) FROM deliveries WHERE status = 'sent'").fetchone()[0]


STALL_SECONDS = 120  # no row sent for this long: the bench cannot finish


def wait_until_sent(url: str, count: int) -> None:
    """Wait for `count` rows sent; exit with the reason when rows fail or nothing moves for STALL_SECONDS."""
    last, moved = -1, time.monotonic()
    while (done := sent(url)) < count:
        with psycopg.connect(libpq_url(url)) as conn:
            failed = conn.execute(
                "SELECT error, count(*) FROM deliveries WHERE status = 'failed' GROUP BY error ORDER BY 2 DESC"
            ).fetchall()
        if failed:
            sys.exit(
                f"bench/send.py: {sum(n for _, n in failed)} rows failed, so it cannot finish: {failed[:3]}"
            )
        if done != last:
            last, moved = done, time.monotonic()
        elif time.monotonic() - moved > STALL_SECONDS:
            sys.exit(f"bench/send.py: {done} of {count} rows sent and none for {STALL_SECONDS} s; giving up")
        time.sleep(0.05)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes and their children so far (from /proc)."""
    total, seen, todo = 0, set(), list(pids)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
            for task in Path(f"/proc/{pid}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total / os.sysconf("SC_CLK_TCK")


def run_workers(env: dict[str, str], count: int) -> list[subprocess.Popen]:
    return [
        subprocess.Popen(
            [sys.executable, "worker.py"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for _ in range(count)
    ]


def send_all(
    url: str,
    settings: Settings,
    env: dict[str, str],
    workers: int,
    expected: int,
    emulator: int,
    warm_up: int = WARM_UP,
) -> tuple[float, float, float]:
    """(seconds from the dispatch to the last row recorded sent, worker CPU seconds, emulator CPU seconds)."""
    redis = connect(REDIS_URL)
    redis.flushdb()
    engine = make_engine(url)
    processes = run_workers(env, workers)
    pids = [process.pid for process in processes]
    try:
        dispatch_due(engine, redis, settings, utcnow())  # the warm-up rows (none for a broadcast)
        wait_until_sent(url, warm_up)
        worker_cpu, emulator_cpu = cpu_seconds(pids), cpu_seconds([emulator])
        started = time.perf_counter()
        dispatch_due(engine, redis, settings, utcnow() + timedelta(days=1, seconds=1))
        wait_until_sent(url, warm_up + expected)
        elapsed = time.perf_counter() - started
        worker_cpu, emulator_cpu = cpu_seconds(pids) - worker_cpu, cpu_seconds([emulator]) - emulator_cpu
    finally:  # also when the bench gives up: no worker is left running
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait()
        engine.dispose()
    return elapsed, worker_cpu, emulator_cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pushes", type=int, default=20_000)
    parser.add_argument("--per-job", type=int, default=3_000)
    parser.add_argument("--multicast", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=None, help="pushes in flight per worker process")
    args = parser.parse_args()
    emulator, base_url = start_emulator()
    try:
        with temporary_database() as url:
            env = os.environ | {
                "DATABASE_URL": url,
                "REDIS_URL": REDIS_URL,
                "LINE_API_BASE_URL": base_url,
                "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
                "QUIET_HOURS": "",
                "TICK_INTERVAL_SECONDS": "3600",
                "LOCAL_MODE": "1",  # a laptop: the sample sender identity is fine (refused outside local mode)
            }
            if args.concurrency:
                env["LINE_PUSH_CONCURRENCY"] = str(args.concurrency)
            settings = Settings(
                database_url=url,
                redis_url=REDIS_URL,
                line_api_base_url=base_url,
                line_channel_access_token=TOKEN,
                quiet_hours="",
                line_push_concurrency=args.concurrency or Settings().line_push_concurrency,
            )
            populate(url, max(args.pushes, args.per_job) + WARM_UP)
            batched, single, worker_us, emulator_us = [], [], [], []
            for run in range(args.runs):
                queue_pushes(url, args.pushes)
                seconds, worker_cpu, emulator_cpu = send_all(
                    url, settings, env, args.workers, args.pushes, emulator.pid
                )
                batched.append(args.pushes / seconds)
                worker_us.append(worker_cpu / args.pushes * 1e6)
                emulator_us.append(emulator_cpu / args.pushes * 1e6)
                queue_pushes(url, args.per_job)
                one = settings.model_copy(update={"send_batch_size": 1})
                seconds, _, _ = send_all(
                    url, one, env | {"SEND_BATCH_SIZE": "1"}, args.workers, args.per_job, emulator.pid
                )
                single.append(args.per_job / seconds)
                print(
                    f"run {run + 1}: batched {batched[-1]:,.0f}/s (worker CPU {worker_us[-1]:,.0f} µs a push,"
                    f" emulator {emulator_us[-1]:,.0f} µs), one job per recipient {single[-1]:,.0f}/s",
                    flush=True,
                )
            worker = statistics.median(worker_us)
            print(
                f"\npersonalised pushes, {args.workers} worker process(es), {os.cpu_count()} cores shared with the"
            )
            print(f"emulator, PostgreSQL and Redis; median of {args.runs}:")
            print(
                f"  batched jobs (500 rows, {settings.line_push_concurrency} in flight): {statistics.median(batched):,.0f} pushes/s"
            )
            print(f"  one RQ job per recipient:                {statistics.median(single):,.0f} pushes/s")
            print(f"  ratio: {statistics.median(batched) / statistics.median(single):.1f}x")
            print(f"  CPU a push: worker {worker:,.0f} µs, emulator {statistics.median(emulator_us):,.0f} µs")
            print(
                f"  → the workers' own CPU would carry {1e6 / worker:,.0f} pushes/s a core, with LINE elsewhere"
            )
            if args.multicast:
                populate(url, args.multicast)
                with psycopg.connect(libpq_url(url)) as conn:
                    conn.execute("DELETE FROM deliveries")
                engine = make_engine(url)
                started = time.perf_counter()
                with engine.begin() as connection:
                    broadcast_id = connection.execute(
                        text(
                            "INSERT INTO broadcasts (name, template, purpose, channels, status, created_at, updated_at)"
                            " VALUES ('bench', 'broadcast.general_notice', 'transactional', 'first_reachable:line',"
                            " 'draft', now(), now()) RETURNING id"
                        )
                    ).scalar_one()
                    broadcast = Broadcast(
                        id=broadcast_id,
                        name="bench",
                        template="broadcast.general_notice",
                        purpose="transactional",
                        channels="first_reachable:line",
                    )
                    from bot.platform.i18n import configure_i18n

                    configure_i18n("ja")
                    written = queue_broadcast(connection, broadcast, utcnow())
                queued = time.perf_counter() - started
                engine.dispose()
                seconds, _, _ = send_all(url, settings, env, args.workers, written, emulator.pid, warm_up=0)
                print(
                    f"\nbroadcast to {written:,} friends: ledger written in {queued:.1f} s,"
                    f" sent by {written // 500:,} multicasts in {seconds:.1f} s; total {queued + seconds:.1f} s"
                )
    finally:
        emulator.terminate()
        emulator.wait()


if __name__ == "__main__":
    main()
