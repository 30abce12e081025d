"""Fault injection for the LINE emulator: canned error responses and simulated timeouts.

A ``Fault`` matches requests by path prefix (``"/v2/bot/message/push"``) or endpoint name
(``"push"``, see ``routes.ENDPOINTS``; ``"*"`` matches everything) and fires ``times`` times
(``None`` = until cleared).  Kinds:

* ``rate_limit``     429 ``{"message": "Too many requests"}``
* ``monthly_quota``  429 ``{"message": "You have reached your monthly limit."}``
* ``server_error``   500 ``{"message": "An error occurred in the server"}``
* ``timeout``        sleep ``delay`` seconds before answering.  With ``accepted=False`` LINE never
  saw the request: nothing is processed, and the late answer is ``status`` (default 500).  With
  ``accepted=True`` the request is processed (and its retry key accepted) before the delay, so only
  the response is lost and a retry with the same key gets 409.
* ``status``         any ``status`` with ``body`` (default ``{"message": "Injected error"}``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

KINDS = ("rate_limit", "monthly_quota", "server_error", "timeout", "status")

_CANNED: dict[str, tuple[int, dict[str, Any]]] = {
    "rate_limit": (429, {"message": "Too many requests"}),
    "monthly_quota": (429, {"message": "You have reached your monthly limit."}),
    "server_error": (500, {"message": "An error occurred in the server"}),
    "timeout": (500, {"message": "An error occurred in the server"}),
    "status": (500, {"message": "Injected error"}),
}


@dataclass
class Fault:
    """One injected fault; ``remaining`` counts down as it fires (``None`` = unlimited)."""

    target: str
    kind: str
    remaining: int | None = 1
    delay: float = 1.0
    accepted: bool = False
    status: int | None = None
    body: dict[str, Any] | None = None
    method: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {KINDS}")
        if self.kind == "status" and self.status is None:
            raise ValueError("fault kind 'status' needs a status code")
        if self.remaining is not None and self.remaining < 1:
            raise ValueError("times must be >= 1 (or None for unlimited)")
        if self.method:
            self.method = self.method.upper()

    @property
    def response(self) -> tuple[int, dict[str, Any]]:
        """Status and JSON body this fault answers with (when it answers instead of LINE)."""
        status, body = _CANNED[self.kind]
        return (self.status or status, self.body if self.body is not None else dict(body))

    @property
    def passes_through(self) -> bool:
        """True when the request is still processed normally (accepted timeout)."""
        return self.kind == "timeout" and self.accepted

    def matches(self, endpoint: str | None, path: str, method: str) -> bool:
        if self.method and self.method != method:
            return False
        if self.target == "*":
            return True
        if self.target.startswith("/"):
            return path.startswith(self.target)
        return self.target == endpoint

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "kind": self.kind,
            "remaining": self.remaining,
            "delay": self.delay,
            "accepted": self.accepted,
            "status": self.status,
            "body": self.body,
            "method": self.method,
            "headers": self.headers,
        }


class FaultRegistry:
    """Thread-safe list of pending faults; the first matching fault fires."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, endpoint: str | None, path: str, method: str) -> Fault | None:
        """Consume one shot of the first fault matching this request, if any."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(endpoint, path, method):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining == 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
