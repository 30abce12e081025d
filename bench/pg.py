"""A throw-away PostgreSQL database for a benchmark run, migrated to the latest schema."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from bot.platform import migrate
from bot.platform.config import normalise_database_url

ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
CONNECT_SECONDS = 10  # a server that does not answer fails the bench instead of hanging it


@contextmanager
def temporary_database(*, migrated: bool = True) -> Iterator[str]:
    """Yield the SQLAlchemy URL of a new database on BENCH_POSTGRES_URL's server; dropped afterwards."""
    name = f"line_bench_{secrets.token_hex(3)}"
    with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=CONNECT_SECONDS) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = normalise_database_url(ADMIN_URL.rsplit("/", 1)[0] + "/" + name)
        if migrated:
            migrate.upgrade(url)
        yield url
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=CONNECT_SECONDS) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def libpq_url(sqlalchemy_url: str) -> str:
    """The same database as a plain libpq URL (for psycopg.connect)."""
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)
