"""Exactly once under a crash: a real worker process is killed with SIGKILL in the middle of a 10,000-recipient
LINE send; a new worker finishes it, and the LINE emulator's log shows one message per recipient."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, text
from sqlmodel import SQLModel

from bot.delivery.outbox import dispatch_due
from bot.platform.config import Settings
from bot.platform.db import make_engine
from bot.platform.redis_conn import connect
from devtools.line_emulator import LineEmulator
from models import Delivery, DeliveryStatus, utcnow
from tests.conftest import ACCESS_TOKEN, CHANNEL_SECRET
from tests.factories import OWN_SERVICE_SETTINGS

ROOT = Path(__file__).resolve().parents[2]
RECIPIENTS = 10_000
CLAIM_SECONDS = 30


def _fill(engine) -> None:
    """10,000 LINE friends, each with one personalised push queued in the ledger."""
    with engine.begin() as connection:
        for table in reversed(SQLModel.metadata.sorted_tables):
            connection.execute(delete(table))
        connection.execute(
            text("""
            INSERT INTO customers (family_name, given_name, created_at, updated_at)
            SELECT '山田', '花子', now(), now() FROM generate_series(1, :n)"""),
            {"n": RECIPIENTS},
        )
        connection.execute(
            text("""
            INSERT INTO customer_channels (customer_id, line_user_id, line_permitted, updated_at)
            SELECT id, 'U' || md5(id::text), true, now() FROM customers""")
        )
        connection.execute(
            text("""
            INSERT INTO deliveries (customer_id, step, template, channel, purpose, status, due_at, attempts,
                                    token, created_at, updated_at)
            SELECT id, 'A', 'broadcast.general_notice', 'line', 'transactional', 'queued', now(), 0,
                   substr(md5(random()::text || id::text), 1, 16), now(), now()
            FROM customers""")
        )


def _counts(engine) -> Counter:
    with engine.connect() as connection:
        table = Delivery.__table__
        return Counter(
            dict(connection.execute(select(table.c.status, func.count()).group_by(table.c.status)).all())
        )


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(  # its own process group: the kill takes the worker and anything it started
        [sys.executable, "worker.py"],
        cwd=ROOT,
        env=env,
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


@pytest.mark.postgres
def test_a_worker_killed_mid_send_delivers_exactly_once(postgres_url, redis_url, tmp_path):
    """SIGKILL after about a third of 10,000 pushes; after recovery every recipient has exactly one message."""
    engine = make_engine(postgres_url)
    _fill(engine)
    redis = connect(redis_url)
    with LineEmulator(ACCESS_TOKEN, max_records=4 * RECIPIENTS) as line:
        env = os.environ | {
            "DATABASE_URL": postgres_url,
            "REDIS_URL": redis_url,
            "LINE_API_BASE_URL": line.base_url,
            "LINE_CHANNEL_ACCESS_TOKEN": ACCESS_TOKEN,
            "LINE_CHANNEL_SECRET": CHANNEL_SECRET,
            "QUIET_HOURS": "",
            "SEND_CLAIM_SECONDS": str(CLAIM_SECONDS),
            "DATA_DIR": str(tmp_path),
            **OWN_SERVICE_SETTINGS,  # outside local mode: not the sample sender identity, and a key
        }
        settings = Settings(
            **{
                k.lower(): v
                for k, v in env.items()
                if k
                in {"DATABASE_URL", "REDIS_URL", "LINE_API_BASE_URL", "LINE_CHANNEL_ACCESS_TOKEN", "DATA_DIR"}
            },
            quiet_hours="",
            send_claim_seconds=CLAIM_SECONDS,
        )
        assert dispatch_due(engine, redis, settings, utcnow()) == RECIPIENTS
        log = tmp_path / "worker.log"
        first = _worker(env, log)
        deadline = time.monotonic() + 120
        while len(line.sent_messages()) < RECIPIENTS // 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        at_kill = len(line.sent_messages())
        assert 0 < at_kill < RECIPIENTS, "the kill must land in the middle of the send"
        # the dead job's rows stay claimed until its claim runs out; then the tick hands them out again
        second = _worker(env, log)
        try:
            later = utcnow() + timedelta(seconds=CLAIM_SECONDS + 1)
            deadline = time.monotonic() + 300  # generous: a loaded CI machine must not make this flaky
            while _counts(engine)[DeliveryStatus.SENT] < RECIPIENTS and time.monotonic() < deadline:
                dispatch_due(engine, redis, settings, later)
                time.sleep(0.2)
        finally:
            os.killpg(second.pid, signal.SIGTERM)
            second.wait(timeout=30)
        per_recipient = Counter(message.to for message in line.sent_messages())
        conflicts = sum(1 for r in line.requests_to("/v2/bot/message/push") if r.status == 409)
    print(f"killed at {at_kill} messages; {conflicts} pushes repeated after the crash were answered 409")
    assert _counts(engine) == Counter({DeliveryStatus.SENT: RECIPIENTS}), log.read_text()[-2000:]
    assert len(per_recipient) == RECIPIENTS and set(per_recipient.values()) == {1}
    engine.dispose()
