"""The webhook's one write: a batch of events in a single fixed SQL statement, skipping keys already stored.

The rows travel as one JSON parameter (`jsonb_to_recordset` on PostgreSQL, `json_each` on SQLite), so the
statement text never changes with the batch size: the driver prepares it once, and no ORM work is done
per row. The generic multi-row INSERT cost about 130 µs of CPU a row, which capped the webhook's
throughput (bench/webhook.py).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, text

COLUMNS = (
    ("webhook_event_id", "varchar"),
    ("event_type", "varchar"),
    ("source_type", "varchar"),
    ("line_user_id", "varchar"),
    ("occurred_at", "timestamptz"),
    ("is_redelivery", "boolean"),
    ("payload", "text"),
    ("status", "varchar"),
    ("attempts", "integer"),
    ("received_at", "timestamptz"),
)
_NAMES = ", ".join(name for name, _ in COLUMNS)
_TAIL = "ON CONFLICT (webhook_event_id) DO NOTHING RETURNING id, webhook_event_id"

POSTGRES_INSERT = text(
    f"INSERT INTO webhook_events ({_NAMES}) SELECT {_NAMES} FROM jsonb_to_recordset(CAST(:rows AS jsonb)) "
    f"AS r({', '.join(f'{name} {kind}' for name, kind in COLUMNS)}) {_TAIL}"
)
# SQLite needs `WHERE true` so that ON CONFLICT is not read as part of the SELECT.
SQLITE_INSERT = text(
    f"INSERT INTO webhook_events ({_NAMES}) SELECT "
    + ", ".join(f"json_extract(value, '$.{name}')" for name, _ in COLUMNS)
    + f" FROM json_each(:rows) WHERE true {_TAIL}"
)
# SQLAlchemy's SQLite DateTime storage format, so the ORM reads these rows like its own.
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"


def insert_events(connection: Connection, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert `rows` (from `bot.events.event_row`); returns the new rows' ids by `webhook_event_id`."""
    sqlite = connection.dialect.name == "sqlite"
    encode = _sqlite_time if sqlite else _iso_time
    document = json.dumps(
        [
            {**row, "occurred_at": encode(row["occurred_at"]), "received_at": encode(row["received_at"])}
            for row in rows
        ],
        ensure_ascii=False,
    )
    statement = SQLITE_INSERT if sqlite else POSTGRES_INSERT
    return {key: row_id for row_id, key in connection.execute(statement, {"rows": document}).all()}


def _iso_time(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


def _sqlite_time(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime(_SQLITE_TIME) if moment else None
