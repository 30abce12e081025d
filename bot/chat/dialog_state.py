"""Where each LINE user is in a dialog (email capture, a service-desk request …), kept in the database so that
it survives a restart and any worker can take the next message. A dialog idle longer than its time-out is
over: the next message starts afresh. Starting a dialog ends whatever dialog the user was in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from models import Dialog

DIALOGS = Dialog.__table__


@dataclass(frozen=True)
class DialogState:
    name: str
    step: str
    data: dict[str, Any] = field(default_factory=dict)


def current(connection: Connection, user_id: str, now: datetime) -> DialogState | None:
    """The user's dialog, or None (none, or idle past its time-out: then it is forgotten)."""
    row = connection.execute(select(DIALOGS).where(DIALOGS.c.line_user_id == user_id)).first()
    if row is None:
        return None
    if row.expires_at <= now:
        finish(connection, user_id)
        return None
    return DialogState(row.name, row.step, dict(row.data or {}))


def enter(
    connection: Connection, user_id: str, state: DialogState, now: datetime, idle: timedelta
) -> DialogState:
    """Start a dialog or move it to its next step (a new dialog replaces the old one)."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    values = {
        "line_user_id": user_id,
        "name": state.name,
        "step": state.step,
        "data": state.data,
        "started_at": now,
        "updated_at": now,
        "expires_at": now + idle,
    }
    statement = dialect.insert(DIALOGS).values(values)
    kept = {key: statement.excluded[key] for key in ("name", "step", "data", "updated_at", "expires_at")}
    connection.execute(statement.on_conflict_do_update(index_elements=["line_user_id"], set_=kept))
    return state


def finish(connection: Connection, user_id: str) -> None:
    connection.execute(delete(DIALOGS).where(DIALOGS.c.line_user_id == user_id))
