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


def test_0016_dates_links_made_through_the_account_link_flow(empty_database):
    """0016 dates a link by the account-link login that made it (the used nonce of that customer and LINE
    user); a link only an imported file reports stays undated; the ledger gains a carrier, empty."""
    from sqlalchemy import create_engine, text

    config = alembic_config(empty_database)
    command.upgrade(config, "0015")
    engine = create_engine(empty_database)
    at, used = "2026-11-02 01:00:00", "2026-11-20 05:30:00"
    with engine.begin() as connection:
        for customer in (1, 2, 3):
            connection.execute(
                text("INSERT INTO customers (id, created_at, updated_at) VALUES (:id, :at, :at)"),
                {"id": customer, "at": at},
            )
        for customer, user, linked in ((1, "U1", True), (2, "U2", True), (3, "U3", False)):
            connection.execute(
                text(
                    "INSERT INTO customer_channels (customer_id, line_user_id, line_linked, updated_at) "
                    "VALUES (:c, :u, :linked, :at)"
                ),
                {"c": customer, "u": user, "linked": linked, "at": at},
            )
        for nonce, customer, user, when in (
            ("n1", 1, "U1", used),
            ("n2", 1, "U9", at),
            ("n3", 3, "U3", used),
        ):
            connection.execute(
                text(
                    "INSERT INTO link_nonces (nonce_hash, customer_id, line_user_id, created_at, expires_at, used_at) "
                    "VALUES (:n, :c, :u, :at, :at, :used)"
                ),
                {"n": nonce, "c": customer, "u": user, "at": at, "used": when},
            )
    command.upgrade(config, "0016")
    with engine.connect() as connection:
        dated = connection.execute(
            text("SELECT customer_id, line_linked_at FROM customer_channels ORDER BY customer_id")
        ).all()
        carriers = connection.execute(text("SELECT count(carrier) FROM deliveries")).scalar_one()
    engine.dispose()
    assert [(c, str(d)[:19] if d else None) for c, d in dated] == [(1, used), (2, None), (3, None)]
    assert carriers == 0
