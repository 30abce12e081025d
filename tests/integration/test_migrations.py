"""Alembic migrations: the models and the migrations describe the same schema, and every step reverses."""

from __future__ import annotations

import os
import secrets

import psycopg
import pytest
from alembic import command
from sqlalchemy.engine import make_url

from bot.platform.config import normalise_database_url
from bot.platform.migrate import alembic_config
from tests.conftest import DEFAULT_POSTGRES


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    admin_url = os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    if admin_url == "off":
        pytest.skip("TEST_POSTGRES_URL=off")
    name = f"line_migrations_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield normalise_database_url(make_url(admin_url).set(database=name).render_as_string(hide_password=False))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_upgrade_matches_models_and_downgrade_reverses(empty_database):
    """head has no drift from the models (`alembic check`), and base → head → base → head works."""
    config = alembic_config(empty_database)
    command.upgrade(config, "head")
    command.check(config)  # raises if the models need a migration nobody wrote
    command.downgrade(config, "base")
    command.upgrade(config, "head")
