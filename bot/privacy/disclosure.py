"""Disclosure (開示): everything the service holds about one customer, table by table, as one JSON document.

Built from the declarations in `holdings` over the live schema, so every table that can hold a customer's rows
is looked at (an empty list says it holds none of theirs). Webhook payloads are shown as the JSON they are, and
the photos, videos and files the customer sent as their content (decrypted, base64), not as sealed bytes.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, MetaData, select

from bot.chat.attachments import exported
from bot.platform.config import Settings
from bot.privacy.holdings import HOLDINGS, UndeclaredTables, undeclared
from bot.privacy.subject import Subject, subject

FORMAT = "appi-disclosure/1"


def customer_rows(
    connection: Connection, metadata: MetaData, who: Subject
) -> dict[str, list[dict[str, Any]]]:
    """Every declared table's rows of the customer, oldest first (by primary key)."""
    missing = undeclared(metadata)
    if missing:
        raise UndeclaredTables(", ".join(missing))
    out: dict[str, list[dict[str, Any]]] = {}
    for name in sorted(HOLDINGS):
        table, holding = metadata.tables[name], HOLDINGS[name]
        statement = select(table).where(holding.find(table, who)).order_by(*table.primary_key.columns)
        rows = [
            row for row in connection.execute(statement) if not holding.matches or holding.matches(row, who)
        ]
        out[name] = [_plain(name, dict(row._mapping)) for row in rows]
    return out


def export_customer(
    connection: Connection, metadata: MetaData, settings: Settings, customer_id: int, now: datetime
) -> dict[str, Any]:
    """The disclosure document of one customer (by internal id)."""
    tables = customer_rows(connection, metadata, subject(connection, settings, customer_id))
    tables["attachments"] = exported(connection, settings, customer_id)
    return {"format": FORMAT, "customer_id": customer_id, "exported_at": now.isoformat(), "tables": tables}


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=False) + "\n"


def _plain(table: str, row: dict[str, Any]) -> dict[str, Any]:
    out = {key: _value(value) for key, value in row.items()}
    if table == "webhook_events" and isinstance(out.get("payload"), str):
        try:
            out["payload"] = json.loads(out["payload"])
        except ValueError:
            pass
    return out


def _value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    return value
