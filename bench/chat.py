"""Chat answer latency, production shape: a customer's message to the bot's answer recorded at the LINE
emulator, through gunicorn, PostgreSQL, Redis and a real worker process — with and without a broadcast backlog
waiting on the send queue.

    .venv/bin/python bench/chat.py                         # 200 messages at 5/s, then again behind a backlog
    .venv/bin/python bench/chat.py --smoke                 # a few messages behind a small backlog
    options: --messages 200 --rate 5 --backlog 100000 --workers 1 --runs 3

Each message is 「メニュー」 from a new LINE user, signed like LINE signs it, with a reply token the emulator
issued. Latency is measured from the POST to the emulator recording the answer (reply or push), polled every
2 ms. The backlog is a broadcast of N email rows already dispatched (N/500 send jobs waiting): the answers queue
must keep chat answers ahead of it (a worker finishes the send job it is in, then takes the answer). Each run
measures both and then empties the send queue, so the next run starts idle; the medians of the runs' medians
and 95th percentiles are reported. Issue #19 sets no goal for it. PostgreSQL from BENCH_POSTGRES_URL, Redis
from BENCH_REDIS_URL (flushed).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

from redis import Redis
from rq import Queue

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.deadline import stop
from bench.pg import temporary_database
from bench.report import Runs, add_run_options, print_no_goal
from bench.webhook import free_port, start_gunicorn
from bot.jobs.queues import SENDS
from devtools.line_emulator import LineEmulator, webhook_sender

SECRET = "bench-channel-secret"
TOKEN = "bench-token"
ANSWER_SECONDS = 30  # a message unanswered this long: the chat is stuck, the bench gives up
FIRST_ANSWER_SECONDS = 120  # the first answers wait for the worker to start as well


def post_message(port: int, user: str, reply_token: str) -> None:
    message = {
        "id": webhook_sender.new_webhook_event_id()[:18],
        "type": "text",
        "text": "メニュー",
        "quoteToken": "q" * 16,
    }
    body = webhook_sender.payload(
        webhook_sender.event("message", user, replyToken=reply_token, message=message)
    )
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/callback",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "X-Line-Signature": webhook_sender.sign(body, SECRET),
        },
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # a non-2xx answer raises HTTPError
        response.read()


def measure(
    line: LineEmulator, port: int, count: int, rate: float, patience: float = ANSWER_SECONDS
) -> tuple[list[float], int]:
    """Latencies (ms) of `count` messages sent at `rate` per second; and how many went by reply."""
    latencies, replies = [], 0
    for _ in range(count):
        user = webhook_sender.new_user_id()
        line.add_friend(user)
        token = line.issue_reply_token(user)
        started = time.perf_counter()
        post_message(port, user, token)
        while not (sent := line.sent_messages(to=user)):
            if time.perf_counter() - started > patience:
                raise SystemExit(f"bench: no answer to a chat message within {patience:.0f} s; giving up")
            time.sleep(0.002)
        latencies.append((time.perf_counter() - started) * 1000)
        replies += sent[0].reply_token is not None
        time.sleep(max(0.0, 1 / rate - (time.perf_counter() - started)))
    return latencies, replies


def backlog(database_url: str, redis_url: str, rows: int) -> int:
    """A broadcast of `rows` email recipients, dispatched: its send jobs wait on the deliveries queue."""
    from sqlalchemy import text

    from bot.delivery.broadcasts import queue_broadcast
    from bot.delivery.outbox import dispatch_due
    from bot.platform.config import load_settings
    from bot.platform.db import make_engine
    from models import Broadcast, utcnow

    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "WITH new AS (INSERT INTO customers (created_at, updated_at)"
                " SELECT now(), now() FROM generate_series(1, :n) RETURNING id)"
                " INSERT INTO customer_channels (customer_id, email_main, email_permitted, updated_at)"
                " SELECT id, 'b' || id || '@example.jp', true, now() FROM new"
            ),
            {"n": rows},
        )
        broadcast = Broadcast(
            name="bench",
            template="broadcast.general_notice",
            purpose="marketing",
            channels="first_reachable:email",
        )
        connection.execute(
            Broadcast.__table__.insert().values(
                name=broadcast.name,
                template=broadcast.template,
                purpose=broadcast.purpose,
                channels=broadcast.channels,
                status="draft",
                created_at=utcnow(),
                updated_at=utcnow(),
            )
        )
        broadcast.id = connection.execute(text("SELECT max(id) FROM broadcasts")).scalar_one()
        queue_broadcast(connection, broadcast, utcnow())
    settings = load_settings(database_url=database_url, redis_url=redis_url, quiet_hours="")
    dispatch_due(engine, Redis.from_url(redis_url), settings, utcnow())
    engine.dispose()
    return Queue(SENDS, connection=Redis.from_url(redis_url)).count


def record(label: str, latencies: list[float], replies: int, runs: Runs) -> None:
    ordered = sorted(latencies)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    print(
        f"  {label}: {len(latencies)} messages, answer latency median {statistics.median(ordered):.0f} ms,"
        f" p95 {p95:.0f} ms, max {ordered[-1]:.0f} ms; {replies} by reply"
    )
    runs.add(f"{label}: answer latency median", statistics.median(ordered), "{:,.0f} ms")
    runs.add(f"{label}: answer latency p95", p95, "{:,.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--rate", type=float, default=5)
    parser.add_argument("--backlog", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=1)
    add_run_options(parser)
    args = parser.parse_args()
    warm_up = 10
    if args.smoke:
        args.messages, args.rate, args.backlog, warm_up = 3, 20, 300, 2
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    Redis.from_url(redis_url).flushdb()
    sends = Queue(SENDS, connection=Redis.from_url(redis_url))
    runs = Runs()
    with ExitStack() as stack:
        database_url = stack.enter_context(temporary_database())
        line = stack.enter_context(LineEmulator(channel_access_token=TOKEN))
        env = dict(
            os.environ,
            LINE_CHANNEL_SECRET=SECRET,
            LINE_CHANNEL_ACCESS_TOKEN=TOKEN,
            LINE_API_BASE_URL=line.base_url,
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            LOG_LEVEL="WARNING",
            SMTP_URL="",
            DATA_DIR=str(ROOT / "var" / "bench"),
            LOCAL_MODE="1",  # a laptop: the sample sender identity is fine (outside local mode it is refused)
            PYTHONPATH=str(ROOT),
        )
        port = free_port()
        stack.callback(stop, start_gunicorn("app:app", port, env, 1 if args.smoke else 2, 8))
        for _ in range(args.workers):
            worker = subprocess.Popen(
                [sys.executable, "worker.py"],
                env=env,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            stack.callback(stop, worker)
        print(
            f"{args.messages} messages at {args.rate}/s; {args.workers} worker process(es); {args.runs} run(s);"
            f" cores {os.cpu_count()}"
        )
        # warm-up: imports, connection pools, prepared statements (and the worker's start)
        measure(line, port, warm_up, args.rate, FIRST_ANSWER_SECONDS)
        for run in range(1, args.runs + 1):
            print(f"run {run}:")
            record("idle", *measure(line, port, args.messages, args.rate), runs)
            if args.backlog:  # the workers keep running: the broadcast's jobs and the answers compete
                waiting = backlog(database_url, redis_url, args.backlog)
                print(
                    f"  backlog: a broadcast to {args.backlog:,} email recipients, {waiting} send jobs waiting"
                )
                record("behind the backlog", *measure(line, port, args.messages, args.rate), runs)
                runs.add("send jobs waiting after the last answer", sends.count)
                sends.empty()  # the next run starts idle
    runs.print_medians()
    print_no_goal("it shows that chat answers keep ahead of a broadcast backlog on the send queue")


if __name__ == "__main__":
    main()
