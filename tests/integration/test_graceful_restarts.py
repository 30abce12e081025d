"""Restarts as a Heroku-like platform does them (at least daily, and on every deploy): SIGTERM, then SIGKILL 30 s
later. The worker finishes the send job in hand and stops a long tick between batches; the web process stops
accepting, answers what it accepted and exits. Nothing acknowledged is lost and nothing is sent twice, on SQLite
and on PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest
import requests
from rq import Queue
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.delivery.outbox import dispatch_due
from bot.jobs.queues import MAINTENANCE
from bot.platform.db import make_engine
from bot.scenarios.runner import tick
from devtools.line_emulator import LineEmulator
from flows.catalog import SCENARIOS
from flows.engine import TOKYO
from models import Customer, CustomerChannels, Delivery, DeliveryStatus, Enrollment, WebhookEvent, utcnow
from tests import factories
from tests.conftest import ACCESS_TOKEN, CHANNEL_SECRET
from tests.factories import OWN_SERVICE_SETTINGS
from tests.integration.scenario_helpers import load, person, write

ROOT = Path(__file__).resolve().parents[2]
PLATFORM_GRACE = 30  # seconds between the platform's SIGTERM and its SIGKILL
RECIPIENTS = 2_000  # four send jobs of 500
DUE = 20_000  # enrollments one tick advances: ten batches
MOMENT = datetime(2026, 7, 1, 19, 0, tzinfo=TOKYO)  # #14 enters a 2026/07/31 renewal on this day


def _env(settings, **more: str) -> dict[str, str]:
    return os.environ | {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "LINE_CHANNEL_ACCESS_TOKEN": ACCESS_TOKEN,
        "LINE_CHANNEL_SECRET": CHANNEL_SECRET,
        "LINE_API_BASE_URL": settings.line_api_base_url,
        "QUIET_HOURS": "",
        "DATA_DIR": str(settings.data_dir),
        "LOG_LEVEL": "INFO",
        **OWN_SERVICE_SETTINGS,  # outside local mode: not the sample sender identity, and a key
        **more,
    }


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log.open("a"), stderr=subprocess.STDOUT, start_new_session=True
    )


def _terminate(process: subprocess.Popen, log: Path) -> float:
    """SIGTERM as the platform sends it; the seconds until the process exited (status 0), within its grace."""
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        status = process.wait(timeout=PLATFORM_GRACE)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        pytest.fail(f"still running {PLATFORM_GRACE}s after SIGTERM: {log.read_text()[-3000:]}")
    assert status == 0, log.read_text()[-3000:]
    return time.monotonic() - started


def _wait_for(condition, seconds: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {seconds}s: {log.read_text()[-3000:]}")
        time.sleep(0.02)


def _statuses(engine) -> Counter:
    with engine.connect() as connection:
        return Counter(
            dict(connection.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all())
        )


def test_a_worker_stopped_mid_send_finishes_the_job_in_hand_and_sends_nothing_twice(runtime, tmp_path):
    """SIGTERM while the first of four send jobs pushes: that job ends (every push it made is recorded as sent),
    the others wait in the queue; the next worker sends them, each recipient once."""
    engine = runtime.engine
    with engine.begin() as connection:
        connection.execute(
            Customer.__table__.insert(),
            [{"family_name": "山田", "given_name": "花子", "created_at": utcnow(), "updated_at": utcnow()}]
            * RECIPIENTS,
        )
        ids = connection.execute(select(Customer.id)).scalars().all()
        connection.execute(
            CustomerChannels.__table__.insert(),
            [
                {
                    "customer_id": i,
                    "line_user_id": f"U{i:032x}",
                    "line_permitted": True,
                    "updated_at": utcnow(),
                }
                for i in ids
            ],
        )
        connection.execute(
            Delivery.__table__.insert(),
            [
                {
                    "customer_id": i,
                    "step": "A",
                    "template": "broadcast.general_notice",
                    "channel": "line",
                    "purpose": "transactional",
                    "status": "queued",
                    "due_at": utcnow(),
                    "attempts": 0,
                    "token": f"t{i:015d}",
                    "created_at": utcnow(),
                    "updated_at": utcnow(),
                }
                for i in ids
            ],
        )
    log = tmp_path / "worker.log"
    with LineEmulator(ACCESS_TOKEN, max_records=4 * RECIPIENTS) as line:
        settings = runtime.settings.model_copy(update={"line_api_base_url": line.base_url, "quiet_hours": ""})
        assert dispatch_due(engine, runtime.redis, settings, utcnow()) == RECIPIENTS
        env = _env(settings)
        first = _start([sys.executable, "worker.py"], env, log)
        _wait_for(lambda: len(line.sent_messages()) >= 50, 120, "the first pushes", log)
        stopped_in = _terminate(first, log)
        pushed = len(line.sent_messages())
        statuses = _statuses(engine)
        assert 0 < pushed < RECIPIENTS, "the stop must land in the middle of the send"
        # the job in hand ended: what it pushed is recorded, nothing is left claimed half-way
        assert statuses[DeliveryStatus.SENT] == pushed
        assert statuses[DeliveryStatus.SENT] + statuses[DeliveryStatus.QUEUED] == RECIPIENTS, statuses

        second = _start([sys.executable, "worker.py"], env, log)
        _wait_for(lambda: _statuses(engine)[DeliveryStatus.SENT] == RECIPIENTS, 180, "every push", log)
        _terminate(second, log)
        per_recipient = Counter(message.to for message in line.sent_messages())
    print(f"stopped after {pushed} pushes, in {stopped_in:.1f}s")
    assert len(per_recipient) == RECIPIENTS and set(per_recipient.values()) == {1}


def test_a_worker_stopped_mid_tick_ends_between_batches_and_the_next_tick_finishes(runtime, tmp_path):
    """A renewal day's tick advancing 20,000 enrollments is told to stop after its first batch: it commits the
    batch in hand and ends well within the platform's grace; each advanced enrollment has its one message, the
    rest are still due, and the next tick advances them."""
    rows = [
        person(f"r{n}", email=f"r{n}@example.com", email_ok="真", renewal="2026/07/31") for n in range(DUE)
    ]
    load(runtime, "F5", write(tmp_path / "f5.csv", rows))
    engine = runtime.engine
    Queue(MAINTENANCE, connection=runtime.redis).enqueue(
        "bot.jobs.tasks.tick", MOMENT.isoformat(), job_timeout=600
    )
    log = tmp_path / "worker.log"
    # only #14 runs (the others would enter these customers too), in the queued tick and the periodic one
    only_renewal = tmp_path / "scenarios.yml"
    only_renewal.write_text(
        "".join(f"{key}:\n  enabled: false\n" for key in SCENARIOS if key != "renewal_reminder")
    )
    env = _env(runtime.settings, SCENARIO_SETTINGS_FILE=str(only_renewal))
    worker = _start([sys.executable, "worker.py"], env, log)

    def advanced() -> int:
        with engine.connect() as connection:
            return connection.execute(
                select(func.count()).select_from(Enrollment).where(Enrollment.state.is_not(None))
            ).scalar_one()

    _wait_for(lambda: advanced() > 0, 300, "the first batch", log)
    stopped_in = _terminate(worker, log)
    done = advanced()
    with engine.connect() as connection:
        enrolled = connection.execute(select(func.count()).select_from(Enrollment)).scalar_one()
        messages = connection.execute(select(func.count()).select_from(Delivery)).scalar_one()
    print(f"stopped after {done} of {DUE} enrollments, in {stopped_in:.1f}s")
    assert enrolled == DUE and 0 < done < DUE, log.read_text()[-2000:]
    assert messages == done  # each advanced enrollment with its message, none half-written
    assert "stop requested" in log.read_text()

    report = tick(engine, {"renewal_reminder": SCENARIOS["renewal_reminder"]}, MOMENT)
    assert report.advanced == DUE - done
    with engine.connect() as connection:
        per_enrollment = connection.execute(
            select(Delivery.enrollment_id, func.count()).group_by(Delivery.enrollment_id)
        ).all()
    assert len(per_enrollment) == DUE and {count for _, count in per_enrollment} == {1}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_web_process_stopped_under_load_answers_what_it_accepted_and_stores_every_acknowledged_event(
    runtime, tmp_path
):
    """Webhooks from eight clients; SIGTERM to gunicorn in the middle: it exits in time, every webhook answered
    200 is stored, and none is answered with an error (the rest find the port closed, and LINE redelivers)."""
    port = _free_port()
    log = tmp_path / "web.log"
    env = _env(runtime.settings, PORT=str(port), WEB_CONCURRENCY="2", WEB_THREADS="4")
    web = _start([sys.executable, "-m", "gunicorn", "app:app"], env, log)
    base = f"http://127.0.0.1:{port}"
    _wait_for(lambda: _answers(base), 60, "the web process answering", log)

    acknowledged: list[str] = []
    refused: Counter = Counter()
    lock = threading.Lock()
    running = threading.Event()
    running.set()

    def client() -> None:
        with requests.Session() as http:
            while running.is_set():
                try:
                    response, event_id = _post_follow(http, base)
                except requests.ConnectionError as exc:
                    with lock:
                        refused[type(exc).__name__] += 1
                    time.sleep(0.01)
                    continue
                with lock:
                    if response.status_code == 200:
                        acknowledged.append(event_id)
                    else:
                        refused[response.status_code] += 1

    with ThreadPoolExecutor(8) as clients, ThreadPoolExecutor(2) as side:
        try:
            for _ in range(8):
                clients.submit(client)
            _wait_for(lambda: len(acknowledged) >= 200, 60, "200 acknowledged webhooks", log)
            # one webhook in flight when SIGTERM comes: its store waits on a lock held past the signal
            with _webhooks_locked(runtime.settings.database_url):
                held = side.submit(_post_one, base)
                time.sleep(0.3)
                stopping = side.submit(_terminate, web, log)
                time.sleep(0.5)
            stopped_in = stopping.result()
            held_status, held_id = held.result()
            time.sleep(0.3)
        finally:
            running.clear()  # the clients end, whatever failed
            if web.poll() is None:
                os.killpg(web.pid, signal.SIGKILL)
    assert held_status == 200  # answered after the SIGTERM, not cut off
    engine = make_engine(runtime.settings.database_url)
    with engine.connect() as connection:
        stored = set(connection.execute(select(WebhookEvent.webhook_event_id)).scalars())
    engine.dispose()
    print(f"{len(acknowledged)} acknowledged, stopped in {stopped_in:.1f}s, then {dict(refused)}")
    assert set(acknowledged) | {held_id} <= stored
    assert not [status for status in refused if isinstance(status, int)], refused  # no 5xx, no 4xx


def _answers(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=5).status_code == 200
    except requests.RequestException:  # not listening yet, or still starting
        return False


def _post_one(base: str) -> tuple[int, str]:
    response, event_id = _post_follow(requests, base)
    return response.status_code, event_id


def _post_follow(http, base: str) -> tuple[requests.Response, str]:  # type: ignore[no-untyped-def]
    """A signed webhook of one friend-add, as LINE sends it; the response and the event's webhookEventId."""
    payload = factories.body(factories.follow(factories.user_id()))
    response = http.post(
        f"{base}/callback",
        data=payload,
        timeout=20,
        headers=factories.signed_headers(payload, CHANNEL_SECRET),
    )
    return response, json.loads(payload)["events"][0]["webhookEventId"]


@contextmanager
def _webhooks_locked(database_url: str) -> Iterator[None]:
    """Hold a lock that makes the webhook's insert wait (well within its 1.5 s limit) until the block ends."""
    if database_url.startswith("sqlite"):
        connection = sqlite3.connect(make_url(database_url).database, isolation_level=None)
        connection.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            connection.execute("ROLLBACK")
            connection.close()
        return
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("LOCK TABLE webhook_events IN SHARE ROW EXCLUSIVE MODE")
            yield
    finally:
        engine.dispose()
