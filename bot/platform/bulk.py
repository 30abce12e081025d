"""Bulk writes in one statement per batch, for the webhook and for imports.

Imports: blank means "not given", and a row that would not change is not touched. `upsert` writes a whole
batch in one statement: the rows travel as one JSON document, unpacked by the
database (`jsonb_to_recordset` on PostgreSQL, `json_each` on SQLite), then `INSERT … ON CONFLICT DO UPDATE`
sets only the given values and only where they differ, so importing the same file twice changes nothing,
not even `updated_at`.

Large batches on PostgreSQL travel by `COPY` instead, into a temporary staging table that the same statement
reads from: a third of the cost of building, sending and unpacking JSON (bench/import.py). The staging table
lives only as long as its transaction, so the service works behind PgBouncer in transaction pooling mode.

`upsert_reporting` also says which rows it inserted, changed or left as they were (what an import reports): the
stored rows among the batch are read first, and the statement returns the rows it wrote.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

import orjson
from psycopg.types.json import Json
from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    CursorResult,
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    Row,
    Select,
    Table,
    TextClause,
    any_,
    bindparam,
    func,
    literal,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY

_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's own storage format for DateTime on SQLite
COPY_MIN_ROWS = 200  # below this a staging table's extra round trips cost more than the JSON they save


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


def insert_many(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Plain inserts (e.g. history rows) in one statement, the same way as `upsert`."""
    if rows:
        _execute(connection, table, rows, (), [], None)


def insert_new(
    connection: Connection,
    table: Table,
    rows: list[dict[str, Any]],
    key: str | tuple[str, ...],
    returning: tuple[str, ...],
) -> list[tuple]:
    """Insert the rows whose `key` (a column or a unique set of columns) is not stored yet; returns `returning`
    of the rows inserted.

    The statement text depends only on the columns, never on the batch size, so the driver prepares it once.
    """
    if not rows:
        return []
    keys = (key,) if isinstance(key, str) else key
    return _execute(connection, table, rows, keys, [], None, update=False, returning=returning)


def update_matching(
    connection: Connection,
    table: Table,
    rows: list[dict[str, Any]],
    match: dict[str, str],
    where: dict[str, Any],
) -> None:
    """Set each row's values on the stored row it matches. `match` maps keys of the rows to the column whose
    stored value each must equal ({"b_id": "id", "b_token": "wake_token"}: a row read with that token), every
    other key is a column to set; `where` names further columns and the value they must hold.

    PostgreSQL: one statement for the whole batch, the rows as one JSON document (a statement per row costs
    the runner a tenth of its time, bench/engine.py); SQLite: one statement per row, in one call."""
    if not rows:
        return
    columns = tuple(name for name in rows[0] if name not in match)
    if connection.dialect.name == "postgresql":
        # orjson: a fifth of the json module's time for a batch's states; datetimes as ISO with their offset
        document = orjson.dumps(rows, default=_json_value, option=orjson.OPT_NAIVE_UTC).decode()
        statement = _update_statement(table, columns, tuple(match.items()), tuple(where))
        connection.execute(
            statement, {"rows": document} | {f"w_{name}": value for name, value in where.items()}
        )
        return
    conditions = [table.c[column] == bindparam(key) for key, column in match.items()]
    conditions += [table.c[column] == value for column, value in where.items()]
    statement = update(table).where(*conditions).values({name: bindparam(name) for name in columns})
    connection.execute(statement, rows)


@lru_cache(maxsize=64)
def _update_statement(
    table: Table, columns: tuple[str, ...], match: tuple[tuple[str, str], ...], where: tuple[str, ...]
) -> TextClause:
    spec = ", ".join(f"{key} {pg_type(table, column)}" for key, column in (*match, *zip(columns, columns)))
    sets = ", ".join(f"{name} = r.{name}" for name in columns)
    conditions = [f"t.{column} = r.{key}" for key, column in match] + [
        f"t.{name} = :w_{name}" for name in where
    ]
    return text(
        f"UPDATE {table.name} AS t SET {sets} FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r({spec})"
        f" WHERE {' AND '.join(conditions)}"
    )


def upsert(
    connection: Connection,
    table: Table,
    rows: Iterable[dict[str, Any]],
    keys: Sequence[str],
    now: datetime | None,
) -> int:
    """Insert or update by `keys`; returns how many rows were given. Columns not in the rows are left alone."""
    batch = merge_by_key(rows, keys)
    if not batch:
        return 0
    _execute(connection, table, batch, tuple(keys), stamps(table), now)
    return len(batch)


@dataclass(frozen=True)
class Upserted:
    """What one `upsert_reporting` did, by each row's identity (its key, or the column named as identity)."""

    inserted: list[Any]
    updated: list[Any]
    unchanged: list[Any]
    before: dict[tuple, Row]  # {key: stored row (keys, identity, remembered columns)} as it was before
    written: dict[tuple, Any]  # {key: identity} of the rows inserted or changed
    position: int  # of the identity in a `before` row

    def identity(self, key: tuple) -> Any:
        """The identity of the row given with `key`."""
        return self.written[key] if key in self.written else self.before[key][self.position]


def upsert_reporting(
    connection: Connection,
    table: Table,
    rows: Iterable[dict[str, Any]],
    keys: Sequence[str],
    now: datetime | None,
    *,
    identity: str | None = None,
    remember: Sequence[str] = (),
) -> Upserted:
    """`upsert`, saying which rows it inserted, changed or left alone. `identity` (default: the key, which must
    then be one column) names each row in the answer; `remember` columns are read as they were before."""
    if len(keys) > 1 and identity is None:
        raise ValueError("a composite key needs an identity column")
    size, name = len(keys), identity or keys[0]
    named = tuple(dict.fromkeys((*keys, name)))
    columns, position = tuple(dict.fromkeys((*named, *remember))), named.index(name)
    batch = merge_by_key(rows, keys)
    if not batch:
        return Upserted([], [], [], {}, {}, position)
    wanted = {tuple(row[k] for k in keys) for row in batch}

    def stored(among: set[tuple]) -> dict[tuple, Row]:
        found = select_rows(connection, table, keys[0], (key[0] for key in among), *columns)
        return {key: row for row in found if (key := tuple(row[:size])) in among}

    before = stored(wanted)
    returned = _execute(connection, table, batch, tuple(keys), stamps(table), now, returning=named)
    written = {tuple(row[:size]): row[position] for row in returned}
    if missing := wanted - before.keys() - written.keys():  # stored meanwhile by another transaction, as ours
        before |= stored(missing)
    inserted, updated, unchanged = [], [], []
    for key in wanted:
        if key in written:
            (updated if key in before else inserted).append(written[key])
        else:
            unchanged.append(before[key][position])
    return Upserted(inserted, updated, unchanged, before, written, position)


def stamps(table: Table) -> list[str]:
    """The time stamps the table has (created_at, updated_at), which a write sets to its moment."""
    return [name for name in ("created_at", "updated_at") if name in table.c]


def _execute(
    connection: Connection,
    table: Table,
    batch: list[dict[str, Any]],
    keys: tuple[str, ...],
    stamps: list[str],
    now: datetime | None,
    *,
    update: bool = True,
    returning: tuple[str, ...] = (),
) -> list[Row]:
    """Write the batch; returns `returning` of the rows written (none unless asked)."""
    columns = tuple(sorted({name for row in batch for name in row} | set(stamps)))
    sqlite = connection.dialect.name == "sqlite"
    if not sqlite and len(batch) >= COPY_MIN_ROWS:
        if not keys and not returning:
            _copy(connection, table, table.name, columns, batch, stamps, now)
            return []
        if keys and not connection.connection.driver_connection.autocommit:
            # The staging table lives as long as its transaction; in autocommit that is one statement, so the
            # batch travels as JSON in one statement instead (the webhook's store).
            return _execute_staged(connection, table, batch, columns, keys, stamps, now, update, returning)
    encode = _sqlite_value if sqlite else _json_value
    document = json.dumps(
        [{name: encode(row.get(name, now if name in stamps else None)) for name in columns} for row in batch],
        ensure_ascii=False,
    )
    statement = _statement(table, columns, keys, sqlite, update, returning)
    return _fetched(connection.execute(statement, {"rows": document}), returning)


def _fetched(result: CursorResult, returning: tuple[str, ...]) -> list[Row]:
    return list(result.all()) if returning else []


def _execute_staged(
    connection: Connection,
    table: Table,
    batch: list[dict[str, Any]],
    columns: tuple[str, ...],
    keys: tuple[str, ...],
    stamps: list[str],
    now: datetime | None,
    update: bool,
    returning: tuple[str, ...],
) -> list[Row]:
    """PostgreSQL: COPY the batch into a staging table, then the same INSERT … ON CONFLICT reads it from there."""
    stage = f"_stage_{table.name}_{zlib.crc32(' '.join(columns).encode()):08x}"
    connection.exec_driver_sql(_stage_ddl(table, columns, stage))
    _copy(connection, table, stage, columns, batch, stamps, now)
    statement = _statement(table, columns, keys, False, update, returning, stage)
    written = _fetched(connection.execute(statement), returning)
    connection.exec_driver_sql(f"TRUNCATE {stage}")
    return written


def _copy(
    connection: Connection,
    table: Table,
    into: str,
    columns: tuple[str, ...],
    batch: list[dict[str, Any]],
    stamps: list[str],
    now: datetime | None,
) -> None:
    """COPY the batch in PostgreSQL's binary format: the values go out as the columns' own types, a fifth of the
    client's time of the text format and less of the server's (no text to parse)."""
    names = ", ".join(columns)
    driver = connection.connection.driver_connection
    defaults = [(name, now if name in stamps else None) for name in columns]
    types = [pg_type(table, name) for name in columns]
    documents = [i for i, kind in enumerate(types) if kind == "json"]
    encoded: dict[int, Json] = {}  # by id(): a document the batch repeats (one object) is encoded once
    with (
        driver.cursor() as cursor,
        cursor.copy(f"COPY {into} ({names}) FROM STDIN (FORMAT BINARY)") as copy,
    ):
        copy.set_types(types)
        for row in batch:
            values = [row.get(name, default) for name, default in defaults]
            for i in documents:
                if (value := values[i]) is not None:
                    if (key := id(value)) not in encoded:
                        encoded[key] = Json(json.dumps(value).encode(), dumps=_encoded)
                    values[i] = encoded[key]
            copy.write_row(values)


def _encoded(document: bytes) -> bytes:
    """A JSON document already encoded, handed to the COPY as it is."""
    return document


@lru_cache(maxsize=256)
def _stage_ddl(table: Table, columns: tuple[str, ...], stage: str) -> str:
    spec = ", ".join(f"{name} {pg_type(table, name)}" for name in columns)
    # The transaction's own table, dropped at its commit: behind a transaction pooler (PgBouncer) the next
    # transaction may run on another server connection, so nothing may be left in the session for it. The
    # batches of one transaction (an import) share it, hence IF NOT EXISTS and the TRUNCATE after each.
    return f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ({spec}) ON COMMIT DROP"


@lru_cache(maxsize=256)
def _statement(
    table: Table,
    columns: tuple[str, ...],
    keys: tuple[str, ...],
    sqlite: bool,
    update: bool,
    returning: tuple[str, ...],
    origin: str | None = None,
) -> TextClause:
    tail = f" RETURNING {', '.join(returning)}" if returning else ""
    names = ", ".join(columns)
    if origin:
        source = f"SELECT {names} FROM {origin}"
    elif sqlite:
        source = (
            "SELECT "
            + ", ".join(f"json_extract(value, '$.{c}')" for c in columns)
            + " FROM json_each(:rows) WHERE true"
        )
    else:
        spec = ", ".join(f"{c} {pg_type(table, c)}" for c in columns)
        source = f"SELECT {names} FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r({spec})"
    if not keys:
        return text(f"INSERT INTO {table.name} ({names}) {source}{tail}")
    changeable = [c for c in columns if c not in keys and c not in ("created_at", "updated_at")]
    conflict = f"ON CONFLICT ({', '.join(keys)})"
    if not changeable or not update:
        return text(f"INSERT INTO {table.name} ({names}) {source} {conflict} DO NOTHING{tail}")
    differs = "IS NOT" if sqlite else "IS DISTINCT FROM"
    sets = [f"{c} = COALESCE(excluded.{c}, {table.name}.{c})" for c in changeable]
    if "updated_at" in columns:
        sets.append("updated_at = excluded.updated_at")
    changed = " OR ".join(
        f"(excluded.{c} IS NOT NULL AND {table.name}.{c} {differs} excluded.{c})" for c in changeable
    )
    return text(
        f"INSERT INTO {table.name} ({names}) {source} {conflict} DO UPDATE SET {', '.join(sets)} WHERE {changed}"
        + tail
    )


def upsert_from(
    table: Table, columns: tuple[str, ...], keys: tuple[str, ...], origin: str, returning: tuple[str, ...]
) -> TextClause:
    """PostgreSQL: `upsert`'s statement (a value not given keeps the stored one; a row is written only when it
    changes) reading its rows from `origin`, a table or a subquery with its alias giving `columns`, for a writer
    that stages its rows in the database itself."""
    return _statement(table, columns, keys, False, True, returning, origin)


def pg_type(table: Table, name: str) -> str:
    """The column's type as the migrations create it (a binary COPY must name it exactly)."""
    kind = table.c[name].type
    if isinstance(kind, Boolean):
        return "boolean"
    if isinstance(kind, Integer):
        return "integer"
    if isinstance(kind, Float):
        return "double precision"
    if isinstance(kind, LargeBinary):
        return "bytea"
    if isinstance(kind, DateTime) or getattr(kind, "impl", None).__class__ is DateTime:
        return "timestamptz"
    if isinstance(kind, Date):
        return "date"
    if isinstance(kind, JSON):
        return "json"
    return "text"


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime(_SQLITE_TIME)
    if isinstance(value, date):
        return value.isoformat()
    return value


def select_map(connection: Connection, table: Table, key: str, values: Iterable[Any], *columns: str) -> dict:
    """{key value: row} for the rows whose `key` is among `values` (in chunks, for long IN lists)."""
    return {row[0]: row for row in select_rows(connection, table, key, values, key, *columns)}


def select_rows(
    connection: Connection, table: Table, key: str, values: Iterable[Any], *columns: str
) -> list[Row]:
    """`columns` of every row whose `key` is among `values` (in chunks, for long IN lists)."""
    wanted = list({value for value in values if value is not None})
    chosen = select(*(table.c[name] for name in columns))
    return [
        row
        for chunk in chunks(connection, wanted)
        for row in connection.execute(chosen.where(among(connection, table.c[key], chunk)))
    ]


def chunks(connection: Connection, values: list[Any]) -> list[list[Any]]:
    """PostgreSQL takes any number of values in one array; SQLite's IN lists are kept to 5,000."""
    if connection.dialect.name == "postgresql":
        return [values] if values else []
    return [values[start : start + 5000] for start in range(0, len(values), 5000)]


def each_id(ids: list[int], name: str = "given") -> Any:
    """PostgreSQL: the ids as a table of one column `id` (unnest of one array parameter), to take one at a time
    with a LATERAL subquery. Joined as a set instead, a thousand ids against a large table make the planner
    hash or scan the whole table, a cost per batch that grows with the data; one id at a time it probes the
    indexes."""
    return func.unnest(literal(ids, ARRAY(Integer))).table_valued("id").render_derived(name)


def select_each(connection: Connection, statement: Select, column: Any, ids: Iterable[int]) -> list[Row]:
    """The rows of `statement` whose `column` is one of `ids`. On PostgreSQL one id at a time (`each_id`): a
    table that grows while its statistics say it is small (a day's deliveries, written batch by batch) would
    otherwise be read whole for every batch; elsewhere `IN` lists in chunks."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    if connection.dialect.name == "postgresql":
        given = each_id(wanted)
        each = statement.where(column == given.c.id).offset(0).lateral("each")
        return connection.execute(select(*each.c).select_from(given.join(each, true()))).all()
    return [
        row
        for chunk in chunks(connection, wanted)
        for row in connection.execute(statement.where(among(connection, column, chunk)))
    ]


def among(connection: Connection, column: Any, values: list[Any]) -> Any:
    """`column IN values`; on PostgreSQL as `= ANY(array)`, one parameter whatever the number of values, so the
    statement text stays the same and the driver does not parse thousands of placeholders."""
    if connection.dialect.name == "postgresql":
        return column == any_(literal(values, ARRAY(column.type)))
    return column.in_(values)
