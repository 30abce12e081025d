"""Behind PgBouncer in transaction pooling mode, as a PaaS shares PostgreSQL connections: consecutive
transactions of one client may run on different server connections, and one server connection serves many
clients in turn. Debian's `pgbouncer` runs in front of the test PostgreSQL with two server connections for four
client threads, so that the service's transactions really interleave; anything kept in a server session (a
temporary table, a prepared statement, a SET) shows up as an error or in another client's transaction."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import psycopg
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from bot.delivery.outbox import DISPATCH_CLAIM, _claim, claim_token
from bot.delivery.sending import send_batch
from bot.imports.files import find_spec
from bot.imports.runner import import_file
from bot.jobs.queues import WORKER_QUEUES
from bot.platform import migrate
from bot.platform import runtime as runtime_module
from bot.platform.bulk import COPY_MIN_ROWS
from bot.platform.config import Settings
from bot.platform.db import Pool, make_engine
from bot.platform.runtime import Runtime
from bot.scenarios.runner import tick
from devtools.line_emulator import LineEmulator
from flows.catalog import SCENARIOS
from flows.dsl import Channel
from flows.engine import TOKYO
from models import Delivery, DeliveryStatus, EventStatus, WebhookEvent
from tests import factories
from tests.conftest import (
    ACCESS_TOKEN,
    CHANNEL_SECRET,
    DEFAULT_POSTGRES,
    NO_LINE,
    _burst_worker,
    empty_the_tables,
)
from tests.integration.scenario_helpers import person, write

SERVER_CONNECTIONS = 2  # PgBouncer's connections to PostgreSQL ...
CLIENT_THREADS = 4  # ... shared by this many threads, each on a client connection of its own
CUSTOMERS = 1500  # two import batches, each far above the COPY threshold
REDELIVERIES = 10  # a 503 (the database busy past the webhook's limit) is sent again, as LINE redelivers
SENT_PER_BATCH = 100  # of the reminders the tick queues, by each of two send batches at once
RENEWAL = SCENARIOS["renewal_reminder"]
MOMENT = datetime(2026, 7, 1, 19, 0, tzinfo=TOKYO)  # #14 reminds of a 2026/07/31 renewal on this day


def _pgbouncer_binary() -> str:
    found = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        reason = "Debian's pgbouncer is not installed (apt-get install pgbouncer)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason + ": CI installs it (.ci/run)")
        pytest.skip(reason)
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _ini(postgres_url: str, port: int) -> str:
    server = make_url(postgres_url)
    password = f" password={server.password}" if server.password else ""
    # PgBouncer refuses to run as root; started as root it changes to `user` (CI runs as root).
    run_as = "user = postgres\n" if os.geteuid() == 0 else ""
    return (
        "[databases]\n"
        f"* = host={server.host or '127.0.0.1'} port={server.port or 5432} user={server.username}{password}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        "auth_type = any\npool_mode = transaction\n"
        f"default_pool_size = {SERVER_CONNECTIONS}\nmin_pool_size = 0\nreserve_pool_size = 0\n"
        "max_client_conn = 100\nserver_lifetime = 3600\n" + run_as
    )


@pytest.fixture(scope="module")
def pgbouncer(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The test database's URL through a PgBouncer of this module's own, on a free loopback port."""
    binary = _pgbouncer_binary()
    folder = tmp_path_factory.mktemp("pgbouncer")
    os.chmod(folder, 0o755)  # readable by the user PgBouncer changes to
    port = _free_port()
    ini = folder / "pgbouncer.ini"
    ini.write_text(_ini(postgres_url, port))
    ini.chmod(0o644)
    log = folder / "pgbouncer.log"
    with open(log, "wb") as output:
        process = subprocess.Popen([binary, str(ini)], stdout=output, stderr=subprocess.STDOUT)
    try:
        _wait_until_listening(process, port, log)
        yield make_url(postgres_url).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_until_listening(process: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"pgbouncer exited ({process.returncode}): {log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"pgbouncer did not listen on {port}: {log.read_text()[-2000:]}")


@pytest.fixture
def pooled(pgbouncer: str, postgres_url: str, redis_url: str, tmp_path: Path) -> Iterator[Runtime]:
    """A worker runtime whose database is reached through PgBouncer, with a client pool of four."""
    from worker import build_worker_runtime

    direct = make_engine(postgres_url)
    with direct.begin() as connection:
        empty_the_tables(connection)
    direct.dispose()
    settings = Settings(
        line_channel_secret=CHANNEL_SECRET,
        line_channel_access_token=ACCESS_TOKEN,
        database_url=pgbouncer,
        database_transaction_pooler=True,
        database_pool_size=CLIENT_THREADS,
        database_max_overflow=0,
        redis_url=redis_url,
        data_dir=tmp_path,
        event_retry_intervals=[0, 0],
        line_api_base_url=NO_LINE,
    )
    built = build_worker_runtime(settings)
    yield built
    built.dispose()
    runtime_module._current = None


def _interleaved(*work: Callable[[], object]) -> list[object]:
    """Run `work` on CLIENT_THREADS threads at once; their results, or the first error raised."""
    with ThreadPoolExecutor(CLIENT_THREADS) as threads:
        return [future.result() for future in [threads.submit(each) for each in work]]


def _post_follows(client, count: int) -> int:
    """`count` webhooks, one friend-add each; how many the service acknowledged.

    A webhook the service could not store within its limit while the tick held the server connections is
    answered 503 and, as LINE does with redelivery on, sent again unchanged (same webhookEventId) until
    acknowledged; the first try's row may have been committed late, so the redelivery may store nothing new."""
    acknowledged = 0
    for _ in range(count):
        payload = factories.body(factories.follow(factories.user_id()))
        for _attempt in range(REDELIVERIES + 1):
            response = client.post(
                "/callback",
                data=payload,
                headers={
                    "Content-Type": "application/json",
                    "X-Line-Signature": factories.sign(payload, CHANNEL_SECRET),
                },
            )
            if response.status_code != 503:
                break
            time.sleep(0.2)
        assert response.status_code == 200, response.get_json()
        acknowledged += 1
    return acknowledged


def _count(runtime: Runtime, statement) -> int:  # type: ignore[no-untyped-def]
    with runtime.engine.connect() as connection:
        return connection.execute(statement).scalar_one()


def test_import_tick_webhooks_and_sends_interleave_through_pgbouncer(pooled: Runtime, tmp_path: Path) -> None:
    """A 1,500-row import (COPY), #14's tick, friend-adds through the webhook and their processing, and two
    send batches, four threads at a time over two server connections: every row is written and every claimed reminder sent."""
    from app import create_app

    assert CUSTOMERS > 2 * COPY_MIN_ROWS
    line_ids = {f"U{number:032x}" for number in range(CUSTOMERS)}
    rows = [person(f"P{uid[-5:]}", line=uid, line_ok="真", renewal="2026/07/31") for uid in sorted(line_ids)]
    report = import_file(pooled.engine, find_spec("F5"), write(tmp_path / "f5.csv", rows))
    assert report.committed and report.imported == CUSTOMERS, report.lines()

    client = create_app(runtime=pooled).test_client()
    queued, *acknowledged = _interleaved(
        lambda: tick(pooled.engine, {RENEWAL.id: RENEWAL}, MOMENT).queued,
        *[lambda: _post_follows(client, 12)] * (CLIENT_THREADS - 1),
    )
    assert queued == CUSTOMERS
    assert (
        sum(acknowledged)
        == 12 * (CLIENT_THREADS - 1)
        == _count(pooled, select(func.count()).select_from(WebhookEvent))
    )

    until = MOMENT + DISPATCH_CLAIM
    ids = [row[0] for row in _claim(pooled.engine, MOMENT, until, set())]
    assert len(ids) == CUSTOMERS
    worker = _burst_worker()(list(WORKER_QUEUES), connection=pooled.redis)
    with LineEmulator(channel_access_token=ACCESS_TOKEN) as line, ThreadPoolExecutor(2) as threads:
        settings = pooled.settings.model_copy(update={"line_api_base_url": line.base_url})
        token = claim_token(until)
        sending = [
            threads.submit(
                send_batch, pooled.engine, pooled.redis, settings, Channel.LINE, half, token, lambda: MOMENT
            )
            for half in (ids[:SENT_PER_BATCH], ids[SENT_PER_BATCH : 2 * SENT_PER_BATCH])
        ]
        worker.work(burst=True, with_scheduler=False)  # the friend-adds, meanwhile (RQ wants the main thread)
        for each in sending:
            each.result()
        reminded = {message.to for message in line.sent_messages() if message.to in line_ids}
    assert len(reminded) == 2 * SENT_PER_BATCH
    sent = Delivery.status == DeliveryStatus.SENT
    assert (
        _count(pooled, select(func.count()).select_from(Delivery).where(sent, Delivery.id.in_(ids)))
        == 2 * SENT_PER_BATCH
    )
    processed = WebhookEvent.status == EventStatus.PROCESSED
    assert _count(pooled, select(func.count()).select_from(WebhookEvent).where(processed)) == sum(
        acknowledged
    )


def test_the_webhook_writers_statement_limit_stays_in_its_own_transactions(pooled: Runtime) -> None:
    """The webhook writer's 1.5 s limit holds in its transactions and never in another client's, whichever
    server connection PgBouncer gives either."""
    assert pooled.webhook_engine is not None
    show = text("SHOW statement_timeout")
    for _ in range(3 * SERVER_CONNECTIONS):
        with pooled.webhook_engine.begin() as connection:
            assert connection.execute(show).scalar_one() == "1500ms"
        seen = _interleaved(*[lambda: _statement_timeout(pooled)] * CLIENT_THREADS)
        assert "1500ms" not in seen


def _statement_timeout(runtime: Runtime) -> str:
    with runtime.engine.begin() as connection:
        return connection.execute(text("SHOW statement_timeout")).scalar_one()


def test_the_release_phase_migrates_a_new_database_through_pgbouncer(pgbouncer: str) -> None:
    """Alembic's upgrade runs in one transaction, so the release phase may go through the pooler as well."""
    admin_url = os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    name = f"line_test_pgbouncer_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        pooled_url = make_url(pgbouncer).set(database=name).render_as_string(hide_password=False)
        migrate.upgrade(pooled_url)
        engine = make_engine(pooled_url, pool=Pool(transaction_pooler=True))
        with engine.connect() as connection:
            revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        engine.dispose()
        assert revision == ScriptDirectory.from_config(migrate.alembic_config(pooled_url)).get_current_head()
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
