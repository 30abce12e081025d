"""Settings come from the environment, with Heroku-style URLs and embedded defaults."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.platform.config import (
    DEFAULT_LINK_TARGETS,
    LINE_API_DEFAULT,
    SMS_SENDER_NAME_MAX,
    StartupRefused,
    load_service_settings,
    load_settings,
)
from tests.factories import OWN_SENDER_IDENTITY


def test_heroku_postgres_url_is_accepted(monkeypatch):
    """`postgres://` (Heroku) becomes a psycopg 3 SQLAlchemy URL."""
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db.example:5432/app")
    assert load_settings().effective_database_url == "postgresql+psycopg://u:p@db.example:5432/app"


def test_defaults_are_embedded(monkeypatch, tmp_path):
    """With nothing set: a SQLite file in the data dir, embedded Redis, LINE's real API host."""
    for name in ("DATABASE_URL", "REDIS_URL", "LINE_API_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    settings = load_settings()
    assert settings.effective_database_url == f"sqlite:///{Path(tmp_path).resolve() / 'app.db'}"
    assert settings.uses_embedded_redis
    assert settings.line_api_base_url == LINE_API_DEFAULT


def test_environment_is_read_when_loading_not_at_import(monkeypatch):
    """Changing the environment after import is seen by the next load (nothing is read at import time)."""
    monkeypatch.setenv("LINE_CHANNEL_SECRET", "first")
    assert load_settings().line_channel_secret == "first"
    monkeypatch.setenv("LINE_CHANNEL_SECRET", "second")
    assert load_settings().line_channel_secret == "second"


def test_trailing_slash_and_retry_intervals(monkeypatch):
    """The API base URL loses its trailing slash (the SDK concatenates); retry intervals parse from a list."""
    monkeypatch.setenv("LINE_API_BASE_URL", "http://127.0.0.1:8089/")
    monkeypatch.setenv("EVENT_RETRY_INTERVALS", "5, 30,120")
    settings = load_settings()
    assert settings.line_api_base_url == "http://127.0.0.1:8089"
    assert settings.event_retry_intervals == [5, 30, 120]


def test_scenario_filters_are_checked_against_the_catalogue(monkeypatch):
    """Operator filters name a scenario (id or number) and filters it offers; a typo is refused at start."""
    import pydantic
    import pytest

    from bot.platform.config import Settings

    monkeypatch.setenv("SCENARIO_FILTERS", '{"5": {"reservation.store_code": "S01"}}')
    assert Settings().scenario_filters == {"visit_reminder": {"reservation.store_code": "S01"}}
    monkeypatch.setenv("SCENARIO_FILTERS", '{"5": {"reservation.storecode": "S01"}}')
    with pytest.raises(pydantic.ValidationError, match="no optional filter reservation.storecode"):
        Settings()
    monkeypatch.setenv("SCENARIO_FILTERS", '{"42": {}}')
    with pytest.raises(pydantic.ValidationError, match="no scenario '42'"):
        Settings()


def test_every_link_the_messages_carry_needs_a_url(monkeypatch):
    """LINK_TARGETS without a name a template links to stops the start (customers would reach a 404)."""
    monkeypatch.setenv("LINK_TARGETS", '{"other": "https://www.example.jp/other"}')
    with pytest.raises(ValidationError, match="home \\(used by broadcast.general_notice\\)"):
        load_settings()
    monkeypatch.setenv("LINK_TARGETS", '{"home": "ftp://example.jp/"}')
    with pytest.raises(ValidationError, match="must be http"):
        load_settings()
    monkeypatch.setenv("LINK_TARGETS", json.dumps(DEFAULT_LINK_TARGETS | {"renewal": "https://x.example/r"}))
    assert load_settings().link_targets["renewal"] == "https://x.example/r"


def _without_identity(monkeypatch) -> None:
    for name in (*OWN_SENDER_IDENTITY, "SMS_SENDER_NAME", "LOCAL_MODE"):
        monkeypatch.delenv(name, raising=False)


def test_the_sample_sender_identity_is_named(monkeypatch):
    """Settings name each sender-identity setting still on its sample: the shipped value, an example domain, or
    a PUBLIC_BASE_URL (where opt-out links lead) on this machine; an insurer's own values leave none."""
    _without_identity(monkeypatch)
    assert load_settings().sample_identity() == [
        "SENDER_NAME",
        "SENDER_POSTAL_ADDRESS",
        "SENDER_CONTACT",
        "MAIL_FROM",
        "PUBLIC_BASE_URL",
    ]
    for name, value in OWN_SENDER_IDENTITY.items():
        monkeypatch.setenv(name, value)
    assert load_settings().sample_identity() == []
    monkeypatch.setenv("MAIL_FROM", "保険 <info@mail.example.com>")
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://localhost:8000")
    monkeypatch.setenv("SMS_SENDER_NAME", "サンプル保険株式会社")
    assert load_settings().sample_identity() == ["MAIL_FROM", "SMS_SENDER_NAME", "PUBLIC_BASE_URL"]


def test_service_settings_refuse_the_sample_identity_outside_local_mode(monkeypatch, tmp_path):
    """A service process started on the sample sender identity stops with the settings to set; local mode
    (`make run`) starts on the defaults; the insurer's own identity starts anywhere."""
    _without_identity(monkeypatch)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ATTACHMENT_KEY", base64.b64encode(bytes(range(32))).decode())
    monkeypatch.setenv("SENDER_NAME", OWN_SENDER_IDENTITY["SENDER_NAME"])
    with pytest.raises(StartupRefused) as refused:
        load_service_settings()
    assert str(refused.value).startswith(
        "Not starting: SENDER_POSTAL_ADDRESS, SENDER_CONTACT, MAIL_FROM, PUBLIC_BASE_URL still hold the sample"
    )
    monkeypatch.setenv("LOCAL_MODE", "1")
    assert load_service_settings().sender_name == OWN_SENDER_IDENTITY["SENDER_NAME"]
    monkeypatch.delenv("LOCAL_MODE")
    for name, value in OWN_SENDER_IDENTITY.items():
        monkeypatch.setenv(name, value)
    assert load_service_settings().mail_from == OWN_SENDER_IDENTITY["MAIL_FROM"]


def test_the_sms_sender_name_fits_the_checked_length(monkeypatch):
    """Marketing SMS start with SMS_SENDER_NAME (else SENDER_NAME); a name longer than the templates were checked
    with stops the start, naming SMS_SENDER_NAME."""
    _without_identity(monkeypatch)
    monkeypatch.setenv("SENDER_NAME", "株式会社はなまるホールディングス損害保険事業本部")
    with pytest.raises(ValidationError, match="SMS_SENDER_NAME \\(SENDER_NAME is too long"):
        load_settings()
    monkeypatch.setenv("SMS_SENDER_NAME", " はなまる損保 ")
    assert load_settings().sms_sender_label == "はなまる損保"
    monkeypatch.setenv("SMS_SENDER_NAME", "は" * (SMS_SENDER_NAME_MAX + 1))
    with pytest.raises(ValidationError, match=f"at most {SMS_SENDER_NAME_MAX} characters"):
        load_settings()


def test_database_time_outs_are_seconds_not_minutes(monkeypatch):
    """Connect, pool and SQLite busy time-outs default to a few seconds, come from the environment, and a
    connect time-out below libpq's 2-second floor is refused rather than silently raised."""
    from bot.platform.db import Timeouts
    from bot.platform.runtime import database_timeouts

    for name in ("DATABASE_CONNECT_TIMEOUT", "DATABASE_POOL_TIMEOUT", "DATABASE_BUSY_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    assert database_timeouts(load_settings()) == Timeouts(connect=3, pool=2.0, busy=10.0, statement=None)
    monkeypatch.setenv("DATABASE_CONNECT_TIMEOUT", "5")
    monkeypatch.setenv("DATABASE_POOL_TIMEOUT", "0.5")
    monkeypatch.setenv("DATABASE_BUSY_TIMEOUT", "3")
    assert database_timeouts(load_settings(), statement=1.5) == Timeouts(
        connect=5, pool=0.5, busy=3, statement=1.5
    )
    monkeypatch.setenv("DATABASE_CONNECT_TIMEOUT", "1")
    with pytest.raises(ValidationError, match="database_connect_timeout"):
        load_settings()


def test_the_database_pool_of_each_process_is_a_setting(monkeypatch):
    """Five connections kept and five more under load unless DATABASE_POOL_SIZE and DATABASE_MAX_OVERFLOW say
    otherwise; a pool of none is refused; DATABASE_TRANSACTION_POOLER says PgBouncer stands in between."""
    from bot.platform.db import Pool
    from bot.platform.runtime import database_pool

    for name in ("DATABASE_POOL_SIZE", "DATABASE_MAX_OVERFLOW", "DATABASE_TRANSACTION_POOLER"):
        monkeypatch.delenv(name, raising=False)
    assert database_pool(load_settings()) == Pool(size=5, overflow=5, transaction_pooler=False)
    monkeypatch.setenv("DATABASE_POOL_SIZE", "2")
    monkeypatch.setenv("DATABASE_MAX_OVERFLOW", "0")
    monkeypatch.setenv("DATABASE_TRANSACTION_POOLER", "true")
    assert database_pool(load_settings()) == Pool(size=2, overflow=0, transaction_pooler=True)
    monkeypatch.setenv("DATABASE_POOL_SIZE", "0")
    with pytest.raises(ValidationError, match="database_pool_size"):
        load_settings()


def test_attachments_need_a_key_outside_local_mode(monkeypatch, tmp_path):
    """Outside local mode a service without ATTACHMENT_KEY does not start (photos are never kept in the clear); a
    key that is not base64 of 32 bytes is refused; local mode makes one in DATA_DIR once and keeps it."""
    for name, value in OWN_SENDER_IDENTITY.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ATTACHMENT_KEY", raising=False)
    monkeypatch.delenv("LOCAL_MODE", raising=False)
    with pytest.raises(StartupRefused, match="ATTACHMENT_KEY is not set"):
        load_service_settings()
    with pytest.raises(ValueError, match="base64 of 32 random bytes"):
        load_settings(attachment_key=base64.b64encode(b"short").decode())
    monkeypatch.setenv("LOCAL_MODE", "1")
    made = load_service_settings().attachment_key
    assert len(base64.b64decode(made)) == 32 and load_service_settings().attachment_key == made
    assert (tmp_path / "attachment.key").stat().st_mode & 0o777 == 0o600
