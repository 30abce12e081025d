"""Every test starts from empty tables: what `database_url` deletes before each test."""

from __future__ import annotations

from sqlalchemy import func, insert, select
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
