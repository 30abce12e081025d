"""Request/response value types shared by the emulator's WSGI app and its route handlers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from werkzeug.datastructures import MultiDict

from devtools.line_emulator.state import EmulatorState

NOT_FOUND = {"message": "Not found"}


@dataclass
class Call:
    """One authenticated, routed API request handed to a route handler."""

    state: EmulatorState
    endpoint: str
    args: dict[str, str]
    query: MultiDict
    body: Any
    raw: bytes
    content_type: str
    request_id: str
    retry_key: str | None = None


@dataclass
class Answer:
    """What a handler returns: HTTP status, JSON body and extra headers (or, for content, `raw` bytes of
    `content_type`)."""

    status: int
    body: Any = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    content_type: str = "application/json"

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def error(status: int, message: str, details: list[dict[str, str]] | None = None) -> Answer:
    """A LINE-style error answer (``details`` only when given)."""
    body: dict[str, Any] = {"message": message}
    if details:
        body["details"] = details
    return Answer(status, body)


def detail_error(message: str, prop: str) -> Answer:
    """A 400 with a single validation detail, shaped like LINE's body-validation errors."""
    return error(400, "The request body has 1 error(s)", [{"message": message, "property": prop}])


def iso_time(epoch: float) -> str:
    """ISO 8601 UTC with milliseconds, e.g. ``2020-12-03T10:15:30.121Z``."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
