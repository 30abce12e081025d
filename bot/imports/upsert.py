"""Idempotent bulk writes for imports: blank means "not given", and a row that would not change is not touched.

`upsert` inserts new rows and updates existing ones only where a given value differs, so importing the same
file twice changes nothing (not even `updated_at`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, and_, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert


def merge_by_key(rows: Iterable[dict[str, Any]], keys: Sequence[str]) -> list[dict[str, Any]]:
    """One row per key; a later row's given values win (the same customer twice in one batch is one write)."""
    merged: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        key = tuple(row[k] for k in keys)
        if key in merged:
            merged[key].update({name: value for name, value in row.items() if value is not None})
        else:
            merged[key] = dict(row)
    return list(merged.values())


def upsert(
    connection: Connection,
    table: Table,
    rows: Iterable[dict[str, Any]],
    keys: Sequence[str],
    now: datetime,
    *,
    insert_only: Sequence[str] = ("created_at",),
) -> int:
    """Insert or update by `keys`; returns how many rows were given. Columns not in the rows are left alone."""
    batch = merge_by_key(rows, keys)
    if not batch:
        return 0
    columns = sorted({name for row in batch for name in row})
    stamped = "updated_at" in table.c
    filled = [
        {name: row.get(name) for name in columns}
        | ({"updated_at": now} if stamped else {})
        | {name: now for name in insert_only if name in table.c}
        for row in batch
    ]
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = insert(table)
    changeable = [name for name in columns if name not in keys and name not in insert_only]
    if not changeable:
        statement = statement.on_conflict_do_nothing(index_elements=list(keys))
    else:
        excluded = statement.excluded
        updates = {name: func.coalesce(excluded[name], table.c[name]) for name in changeable}
        if stamped:
            updates["updated_at"] = excluded["updated_at"]
        changed = or_(
            *(and_(excluded[name].is_not(None), table.c[name].is_distinct_from(excluded[name])) for name in changeable)
        )
        statement = statement.on_conflict_do_update(index_elements=list(keys), set_=updates, where=changed)
    connection.execute(statement, filled)
    return len(batch)


def select_map(connection: Connection, table: Table, key: str, values: Iterable[Any], *columns: str) -> dict:
    """{key value: row} for the rows whose `key` is among `values` (in chunks, for long IN lists)."""
    wanted = list({value for value in values if value is not None})
    found: dict[Any, Any] = {}
    for start in range(0, len(wanted), 5000):
        chunk = wanted[start : start + 5000]
        statement = select(table.c[key], *(table.c[name] for name in columns)).where(table.c[key].in_(chunk))
        for row in connection.execute(statement):
            found[row[0]] = row
    return found
