"""LINE sending speed and CPU from one worker host against the LINE emulator (run in its own process):

1. personalised pushes the service's way: send jobs of 500 ledger rows, pushes in parallel over kept-alive
   connections, one statement per 100 rows recorded; the workers' CPU per push;
2. the bare client (bench/bare_client.py): the LINE SDK's own client pushing the same messages to the same
   emulator, no database and no queue; its CPU per push is the limit the workers' is measured against;
3. the same rows the one-RQ-job-per-recipient way: the same code with batches of one row (a job, a claim, a
   look-up, a connection and a record per recipient);
4. once, after the runs: a 1,000,000-recipient broadcast: ledger rows written, then multicasts of 500.

    .venv/bin/python bench/send.py                     # 3 runs
    .venv/bin/python bench/send.py --smoke             # a few hundred rows: proves it runs
    options: --pushes 20000 --per-job 3000 --multicast 1000000 --workers 1 --runs 3

Goals: worker CPU per push <= 1.5x the bare client's, and batched jobs >= 10x the pushes/s of one job per
recipient, each ratio taken within one run. The emulator runs under gunicorn (connections kept alive, as LINE's
are) and checks one request body in 100 against messaging-api.yml (BENCH_VALIDATE_EVERY): checking every body
costs the emulator about 2 ms of CPU a request on this machine's shared cores, a cost LINE's servers do not
charge to us. The test suite checks every body the service sends.

PostgreSQL from BENCH_POSTGRES_URL (a throw-away database), Redis from BENCH_REDIS_URL (default db 14, flushed).
"""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import psycopg
from rq import Worker
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.deadline import STOP_SECONDS, stop, wait_process, wait_until
from bench.pg import libpq_url, temporary_database
from bench.report import Goal, Runs, add_run_options, print_goals
from bot.delivery.broadcasts import queue_broadcast
from bot.delivery.outbox import dispatch_due
from bot.platform.config import Settings
from bot.platform.db import make_engine
from bot.platform.redis_conn import connect
from models import Broadcast, utcnow

TOKEN = "bench-token"
START_SECONDS = 60  # for the emulator to listen
BARE_CLIENT_SECONDS = 300  # for the bare client's pushes, however many
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


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
    # it prints its base URL once it listens; a pipe that stays silent is an emulator that did not start
    if not select.select([process.stdout], [], [], START_SECONDS)[0]:
        stop(process)
        raise SystemExit(f"bench: the LINE emulator printed no address within {START_SECONDS} s")
    base_url = process.stdout.readline().strip()
    if not base_url:
        stop(process)
        raise SystemExit(f"bench: the LINE emulator exited with {process.wait()} while starting")
    return process, base_url


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
SMOKE_WARM_UP = 20
# a scenario message personalised by the customer's name only: its rows need no anchor record (a document
# request's follow-up would need the request the bench does not create, and every row would fail)
TEMPLATE = "churn_prevention.a"


def queue_pushes(url: str, count: int, warm_up: int) -> None:
    """`warm_up` messages due now, then `count` personalised messages (the name in the text) due tomorrow."""
    with psycopg.connect(libpq_url(url)) as conn:
        conn.execute("DELETE FROM deliveries")
        conn.execute(
            "INSERT INTO deliveries (customer_id, step, template, channel, purpose, status, due_at, attempts,"
            " token, created_at, updated_at)"
            " SELECT g, 'A', %s, 'line', 'transactional', 'queued',"
            " now() + CASE WHEN g <= %s THEN interval '0' ELSE interval '1 day' END, 0,"
            " substr(md5(random()::text || g::text), 1, 16), now(), now() FROM generate_series(1, %s) g",
            (TEMPLATE, warm_up, count + warm_up),
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
    warm_up: int,
) -> tuple[float, float, float]:
    """(seconds from the dispatch to the last row recorded sent, worker CPU seconds, emulator CPU seconds)."""
    redis = connect(REDIS_URL)
    redis.flushdb()
    engine = make_engine(url)
    processes = run_workers(env, workers)
    pids = [process.pid for process in processes]
    try:
        # a broadcast has no warm-up rows: without this wait its time would include the workers' start-up
        wait_until(
            lambda: len(Worker.all(connection=redis)) >= workers, START_SECONDS, "the RQ workers registering"
        )
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
        for process in processes:
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        engine.dispose()
    return elapsed, worker_cpu, emulator_cpu


def reset_emulator(base_url: str) -> None:
    """Forget the last run's messages and retry keys (each run's fresh database numbers its rows from 1 again, so
    its pushes would repeat the last run's X-Line-Retry-Keys and be answered 409, recording nothing)."""
    request = urllib.request.Request(f"{base_url}/__emulator__/reset", data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass


def last_push(base_url: str) -> list[dict]:
    """The message objects of the last push the emulator accepted (it keeps its last 1,000): what the bare client
    sends to everyone."""
    with urllib.request.urlopen(f"{base_url}/__emulator__/sent_messages", timeout=10) as response:
        sent = json.load(response)["sentMessages"]
    if not sent:
        raise SystemExit("bench: the emulator recorded no message: nothing for the bare client to send")
    return [one["message"] for one in sent if one["request_id"] == sent[-1]["request_id"]]


def bare_client(base_url: str, messages: list[dict], pushes: int, concurrency: int) -> tuple[float, float]:
    """(pushes/s, CPU seconds per push) of the LINE SDK's client alone, in a process of its own."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.bare_client", base_url, TOKEN, json.dumps(messages, ensure_ascii=False)]
        + ["--pushes", str(pushes), "--concurrency", str(concurrency)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        if wait_process(process, BARE_CLIENT_SECONDS, "the bare client") != 0:
            raise SystemExit(f"bench: the bare client exited with {process.returncode}")
    finally:
        stop(process)
    figures = json.loads(process.stdout.read())
    return pushes / figures["seconds"], figures["cpu_seconds"] / pushes


def measure(
    url: str, settings: Settings, env: dict[str, str], args: argparse.Namespace, emulator: int, runs: Runs
) -> None:
    """One run: batched jobs, the bare client, then one job per recipient."""
    reset_emulator(settings.line_api_base_url)
    queue_pushes(url, args.pushes, args.warm_up)
    seconds, worker_cpu, emulator_cpu = send_all(
        url, settings, env, args.workers, args.pushes, emulator, args.warm_up
    )
    batched, worker_us = args.pushes / seconds, worker_cpu / args.pushes * 1e6
    messages = last_push(settings.line_api_base_url)
    bare_rate, bare_cpu = bare_client(
        settings.line_api_base_url, messages, args.pushes, settings.line_push_concurrency
    )
    queue_pushes(url, args.per_job, args.warm_up)
    one = settings.model_copy(update={"send_batch_size": 1})
    seconds, _, _ = send_all(
        url, one, env | {"SEND_BATCH_SIZE": "1"}, args.workers, args.per_job, emulator, args.warm_up
    )
    single = args.per_job / seconds
    print(
        f"  batched {batched:,.0f}/s (worker CPU {worker_us:,.0f} µs a push, emulator"
        f" {emulator_cpu / args.pushes * 1e6:,.0f} µs); bare client {bare_rate:,.0f}/s ({bare_cpu * 1e6:,.0f} µs"
        f" a push); one job per recipient {single:,.0f}/s",
        flush=True,
    )
    runs.add("batched jobs, pushes/s", batched, "{:,.0f} /s")
    runs.add("one RQ job per recipient, pushes/s", single, "{:,.0f} /s")
    runs.add("bare client, pushes/s", bare_rate, "{:,.0f} /s")
    runs.add("worker CPU a push", worker_us, "{:,.0f} µs")
    runs.add("bare client CPU a push", bare_cpu * 1e6, "{:,.0f} µs")
    runs.add("emulator CPU a push", emulator_cpu / args.pushes * 1e6, "{:,.0f} µs")
    runs.add("worker CPU / bare client CPU", worker_us / (bare_cpu * 1e6), "{:.2f}x")
    runs.add("batched / one job per recipient", batched / single, "{:.1f}x")


def broadcast(
    url: str, settings: Settings, env: dict[str, str], args: argparse.Namespace, emulator: int
) -> None:
    """Once: the ledger rows of a broadcast to --multicast friends, then its multicasts of 500."""
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
        draft = Broadcast(
            id=broadcast_id,
            name="bench",
            template="broadcast.general_notice",
            purpose="transactional",
            channels="first_reachable:line",
        )
        from bot.platform.i18n import configure_i18n

        configure_i18n("ja")
        written = queue_broadcast(connection, draft, utcnow())
    queued = time.perf_counter() - started
    engine.dispose()
    seconds, _, _ = send_all(url, settings, env, args.workers, written, emulator, warm_up=0)
    print(
        f"\nbroadcast to {written:,} friends (once): ledger written in {queued:.1f} s,"
        f" sent by {-(-written // 500):,} multicasts in {seconds:.1f} s; total {queued + seconds:.1f} s"
    )


def configured(url: str, base_url: str, args: argparse.Namespace) -> tuple[Settings, dict[str, str]]:
    """The service's settings for the bench's database and emulator, and the same as the workers' environment."""
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
    return settings, env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pushes", type=int, default=20_000)
    parser.add_argument("--per-job", type=int, default=3_000)
    parser.add_argument("--multicast", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=None, help="pushes in flight per worker process")
    add_run_options(parser)
    args = parser.parse_args()
    args.warm_up = WARM_UP
    if args.smoke:
        args.pushes, args.per_job, args.multicast, args.warm_up = 100, 20, 600, SMOKE_WARM_UP
    emulator, base_url = start_emulator()
    runs = Runs()
    try:
        for run in range(1, args.runs + 1):
            # each run on a database of its own: a second run on the first one's customers would find them
            # already messaged today, and their pushes held by the send-time rules instead of sent
            with temporary_database() as url:
                settings, env = configured(url, base_url, args)
                populate(url, max(args.pushes, args.per_job) + args.warm_up)
                if run == 1:
                    print(
                        f"personalised pushes, {args.workers} worker process(es), {settings.line_push_concurrency}"
                        f" in flight each, {os.cpu_count()} cores shared with the emulator, PostgreSQL and Redis"
                    )
                print(f"run {run}:")
                measure(url, settings, env, args, emulator.pid, runs)
        if args.multicast:
            with temporary_database() as url:
                settings, env = configured(url, base_url, args)
                broadcast(url, settings, env, args, emulator.pid)
    finally:
        stop(emulator)
    runs.print_medians()
    worker = runs.median("worker CPU a push")
    print(f"  → the workers' own CPU would carry {1e6 / worker:,.0f} pushes/s a core, with LINE elsewhere")
    print_goals(
        Goal(
            "send/worker CPU vs bare client",
            runs.median("worker CPU / bare client CPU"),
            "<=",
            1.5,
            "{:.2f}x",
        ),
        Goal(
            "send/batched vs one job each",
            runs.median("batched / one job per recipient"),
            ">=",
            10,
            "{:.1f}x",
        ),
    )


if __name__ == "__main__":
    main()
