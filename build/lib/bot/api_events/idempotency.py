"""`Idempotency-Key`: a retried request gets the first answer again and writes nothing twice.

The key is claimed in the same transaction as the writes, under a unique (caller, key) constraint: of two
simultaneous requests with one new key, the second waits for the first and then finds its answer. Only
accepted requests are remembered (a refused one wrote nothing and may be retried as it is, or fixed).
Keys are honoured for 24 hours, then forgotten.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Delete, delete, select
from sqlalchemy.exc import IntegrityError

from models import ApiRequest

KEY_TTL = timedelta(hours=24)
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, e.g. a UUID
TABLE = ApiRequest.__table__


class KeyTaken(Exception):
    """Another request holds this key (it committed between our look-up and our claim)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True)
class Remembered:
    request_hash: str
    status: int
    body: dict[str, Any]


def is_valid_key(key: str) -> bool:
    return bool(_KEY.match(key))


def request_hash(payload: Any) -> str:
    """The body's fingerprint: the same JSON however it is spaced or its keys ordered."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def recall(connection: Connection, client: str, key: str, now: datetime) -> Remembered | None:
    """The answer given to this caller's key within the last 24 hours."""
    row = connection.execute(
        select(TABLE.c.request_hash, TABLE.c.status_code, TABLE.c.response_body).where(
            TABLE.c.client == client, TABLE.c.idempotency_key == key, TABLE.c.created_at >= now - KEY_TTL
        )
    ).first()
    return Remembered(row.request_hash, row.status_code, json.loads(row.response_body)) if row else None


def claim(
    connection: Connection,
    client: str,
    key: str,
    fingerprint: str,
    answer: tuple[int, dict[str, Any]],
    now: datetime,
) -> None:
    """Take the key with its answer, first thing in the request's transaction; KeyTaken if already held."""
    status, body = answer
    values = {
        "client": client,
        "idempotency_key": key,
        "request_hash": fingerprint,
        "status_code": status,
        "response_body": json.dumps(body, ensure_ascii=False),
        "created_at": now,
    }
    connection.execute(_expired(now).where(TABLE.c.client == client, TABLE.c.idempotency_key == key))
    try:
        connection.execute(TABLE.insert().values(values))
    except IntegrityError:
        raise KeyTaken(key) from None


def forget_expired(connection: Connection, now: datetime) -> int:
    """Delete the keys older than 24 hours; returns how many."""
    return connection.execute(_expired(now)).rowcount


def _expired(now: datetime) -> Delete:
    return delete(TABLE).where(TABLE.c.created_at < now - KEY_TTL)
