"""What a handler gets besides its event: the database session, the moment, settings, the stored event and the
registered handlers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.delivery.consent import Evidence
from bot.platform.config import Settings


@dataclass(frozen=True)
class Ctx:
    """Handler context. Handlers change state through `session`; the job commits it with the event."""

    session: Session
    now: datetime
    settings: Settings
    event_row_id: int
    occurred_at: datetime | None
    answers: list[int] = field(default_factory=list)  # ledger rows of chat answers, sent right after commit
    webhook_event_id: str | None = None  # LINE's id of the event (or our key for one that came without)
    handlers: Any = None  # the process's handlers.Handlers: the chat's and the admin chat's registries

    @property
    def effective_time(self) -> datetime:
        """When the event happened (LINE's timestamp), or when we process it if LINE gave none."""
        return self.occurred_at or self.now

    @property
    def evidence(self) -> Evidence:
        """What shows a consent change this event makes: the event itself, by its webhookEventId."""
        return Evidence.webhook(self.webhook_event_id)
