"""Service settings: one object read from the environment, with embedded defaults for a laptop.

Nothing here runs at import time; the composition roots (`app.py`, `worker.py`) call `load_settings()`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from flows.catalog import find_scenario
from flows.dsl import filter_conditions
from flows.rules import DeliveryRules, parse_quiet_hours

LINE_API_DEFAULT = "https://api.line.me"


def normalise_database_url(url: str) -> str:
    """Accept Heroku's `postgres://` and plain `postgresql://`, and pick the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Settings(BaseSettings):
    """Everything the service reads from its environment."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    line_channel_secret: str = Field(default="", description="Channel secret; signs webhooks")
    line_channel_access_token: str = Field(default="", description="Messaging API access token")
    line_api_base_url: str = LINE_API_DEFAULT
    database_url: str = ""
    redis_url: str = ""
    public_base_url: str = "http://127.0.0.1:5000"
    data_dir: Path = Path("var")
    default_locale: str = "ja"
    # Event processing: retries with backoff, then the event is recorded as failed.
    event_retry_intervals: Annotated[list[int], NoDecode] = [10, 60, 300]
    event_job_timeout: int = 60
    # An event still unprocessed this long after it arrived is enqueued again by the periodic tick.
    event_requeue_after_seconds: int = 120
    tick_interval_seconds: int = 60
    # POST /api/v1/events: bearer tokens of the insurer's systems (comma-separated); none set = the API is closed.
    ingest_api_tokens: Annotated[list[str], NoDecode] = []
    # Marketing delivery rules across scenarios (transactional notices are exempt).
    marketing_daily_cap: int = Field(default=1, ge=1)
    marketing_weekly_cap: int = Field(default=3, ge=1)
    quiet_hours: str = "21:00-09:00"  # Japan time; "" for none
    # The operator's optional filters (○) per scenario, as JSON: {"visit_reminder": {"reservation.store_code": "S01"}}
    scenario_filters: dict[str, dict[str, str | int | bool]] = {}

    @field_validator("ingest_api_tokens", mode="before")
    @classmethod
    def _parse_tokens(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("database_url")
    @classmethod
    def _normalise_database_url(cls, value: str) -> str:
        return normalise_database_url(value.strip())

    @field_validator("line_api_base_url", "public_base_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        # The LINE SDK concatenates host + path, so a trailing slash would give `//v2/...`.
        return value.rstrip("/")

    @field_validator("event_retry_intervals", mode="before")
    @classmethod
    def _parse_intervals(cls, value: object) -> object:
        if isinstance(value, str):
            return [int(part) for part in value.replace(" ", "").split(",") if part]
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _check_quiet_hours(cls, value: str) -> str:
        parse_quiet_hours(value)  # raises with the expected form
        return value

    @model_validator(mode="after")
    def _check_caps(self) -> Settings:
        self.delivery_rules()  # raises when the daily cap exceeds the weekly one
        return self

    @field_validator("scenario_filters")
    @classmethod
    def _check_filters(cls, value: dict[str, dict[str, object]]) -> dict[str, dict[str, object]]:
        """Every scenario named exists and offers every filter given (a typo must not widen a campaign)."""
        for key, filters in value.items():
            filter_conditions(find_scenario(key), filters)
        return {find_scenario(key).id: filters for key, filters in value.items()}

    def delivery_rules(self) -> DeliveryRules:
        start, end = parse_quiet_hours(self.quiet_hours)
        return DeliveryRules(self.marketing_daily_cap, self.marketing_weekly_cap, start, end)

    @property
    def effective_database_url(self) -> str:
        """The configured database, or a SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'app.db').resolve()}"

    @property
    def uses_embedded_redis(self) -> bool:
        return not self.redis_url


def load_settings(**overrides: object) -> Settings:
    """Read the environment now (never at import), with explicit overrides for tests."""
    return Settings(**overrides)
