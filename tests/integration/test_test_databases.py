"""The databases tests run on: every test starts from empty tables, and commits do not wait for the disk."""

from __future__ import annotations

from sqlalchemy import func, insert, select, text
from sqlmodel import SQLModel

from models import AdminAudit, utcnow
from tests.conftest import empty_the_tables
from tests.integration.scenario_helpers import load, person, write


def counts(connection) -> dict[str, int]:
    tables = SQLModel.metadata.sorted_tables
    return {
        table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
        for table in tables
    }


def test_a_test_leaves_nothing_behind_for_the_next_even_in_the_append_only_audit(runtime, tmp_path):
    """Imported customers (and all the import wrote) and an admin audit row are deleted; every table is empty."""
    rows = [
        person("a", email="a@example.com", email_ok="真", renewal="2026/07/31"),
        person("b", line="U" + "1" * 32),
    ]
    load(runtime, "F5", write(tmp_path / "f5.csv", rows))
    with runtime.engine.begin() as connection:
        connection.execute(
            insert(AdminAudit).values(at=utcnow(), actor="staff", place="1:1", command="help", result="done")
        )
        written = {name for name, count in counts(connection).items() if count}
    assert {"customers", "customer_channels", "admin_audit"} <= written
    with runtime.engine.begin() as connection:
        empty_the_tables(connection)
    with runtime.engine.connect() as connection:
        assert {name: count for name, count in counts(connection).items() if count} == {}


def test_the_test_databases_commit_without_waiting_for_the_disk(runtime):
    """SQLite flushes its log at checkpoints only (synchronous NORMAL), PostgreSQL commits asynchronously."""
    with runtime.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            assert connection.execute(text("PRAGMA synchronous")).scalar_one() == 1  # NORMAL
        else:
            assert connection.execute(text("SHOW synchronous_commit")).scalar_one() == "off"
