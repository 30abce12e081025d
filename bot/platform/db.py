"""Database engine and sessions: the same code on a SQLite file (laptop) and on PostgreSQL (production)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session

from bot.platform.db_errors import without_values


@dataclass(frozen=True)
class Timeouts:
    """How long the service waits on its database (seconds), so a slow or unreachable one fails fast."""

    connect: int = 3  # open a PostgreSQL connection (libpq rounds anything below 2 up to 2)
    pool: float = 2.0  # wait for a free connection of the pool
    busy: float = 10.0  # SQLite: wait for another process's write lock
    statement: float | None = None  # PostgreSQL: statement_timeout and lock_timeout of every statement


@dataclass(frozen=True)
class Pool:
    """A process's PostgreSQL connections: how many its engine keeps open, how many more it may open under load,
    and whether a transaction pooler (PgBouncer, pool_mode = transaction) stands between it and the database."""

    size: int = 5
    overflow: int = 5
    transaction_pooler: bool = False


def make_engine(url: str, timeouts: Timeouts = Timeouts(), pool: Pool = Pool()) -> Engine:
    """An engine tuned per backend: WAL and a busy timeout on SQLite, no pre-ping on PostgreSQL; `timeouts`
    bound every wait on the database (connecting, the pool, locks).

    Behind a transaction pooler consecutive transactions may run on different server connections, so nothing
    is kept in the server's session: no prepared statements, statement limits set per transaction.

    Its errors never carry the statement's values (they are names, phones, 顧客ID): see bot/platform/db_errors.py."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        connect_args = {"timeout": timeouts.busy, "check_same_thread": False}  # timeout: the busy timeout
        engine = create_engine(
            url, connect_args=connect_args, pool_timeout=timeouts.pool, hide_parameters=True
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # No pre-ping: it costs a round trip per checkout on the webhook path. A connection that died with a
    # server restart fails once, is invalidated with its pool, and the caller retries (503 or RQ retry).
    engine = create_engine(
        url,
        pool_size=pool.size,
        max_overflow=pool.overflow,
        pool_recycle=1800,
        pool_timeout=timeouts.pool,
        hide_parameters=True,
    )
    event.listen(engine, "handle_error", without_values)
    event.listen(engine, "do_connect", partial(_postgres_connect_args, timeouts, pool))
    if timeouts.statement is not None:
        if pool.transaction_pooler:
            event.listen(engine, "begin", partial(_postgres_transaction_limits, timeouts.statement))
        else:
            event.listen(engine, "connect", partial(_postgres_session_limits, timeouts.statement))
    return engine


def _postgres_connect_args(
    timeouts: Timeouts,
    pool: Pool,
    _dialect: object,
    _record: object,
    _cargs: object,
    cparams: dict[str, object],
) -> None:
    # Without it libpq waits for a black-holed server as long as TCP does (psycopg: 130 s).
    cparams.setdefault("connect_timeout", timeouts.connect)
    if pool.transaction_pooler:
        # psycopg prepares a statement on the server after its fifth run; the next transaction's server
        # connection does not have it ("prepared statement … does not exist"), PgBouncer 1.18 does not track it.
        cparams["prepare_threshold"] = None


def _postgres_transaction_limits(seconds: float, connection: Connection) -> None:
    # Behind a transaction pooler a SET would stay on a server connection that other clients' transactions then
    # run on, and be missing from ours: set_config(…, true) holds until this transaction ends, in one round trip.
    milliseconds = str(max(1, int(seconds * 1000)))
    connection.exec_driver_sql(
        "SELECT set_config('statement_timeout', %(limit)s, true), set_config('lock_timeout', %(limit)s, true)",
        {"limit": milliseconds},
    )


def _postgres_session_limits(seconds: float, dbapi_connection: Any, _record: object) -> None:
    # SET, not the `options` start-up parameter, which PgBouncer refuses; autocommit so that it holds for the
    # session instead of ending with the first rollback. A lock wait ends with its own message (lock_timeout).
    milliseconds = max(1, int(seconds * 1000))
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    with dbapi_connection.cursor() as cursor:
        cursor.execute(f"SET statement_timeout = {milliseconds}")
        cursor.execute(f"SET lock_timeout = {milliseconds}")
    dbapi_connection.autocommit = autocommit


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets the web process and the worker read while the other writes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session committed on success and rolled back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
