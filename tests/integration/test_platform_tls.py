"""TLS as a Heroku-like platform's add-ons hand it out. `rediss://`: a local redis-server listens on TLS only, with
a self-signed certificate made here; the service's clients connect without verifying it by default (as the
platforms document), verify it when told to with the platform's CA file, and RQ runs through it. `postgres://`
with `sslmode`: the mode reaches libpq as given."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import Queue, SimpleWorker

from bot.platform.config import Settings
from bot.platform.redis_conn import Tls, connect
from bot.platform.runtime import build_runtime
from tests.conftest import ACCESS_TOKEN, CHANNEL_SECRET, NO_LINE
from tests.integration.tls_helpers import tls_redis_server


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """(rediss:// URL, its certificate) of a redis-server of this module's own, listening on TLS only."""
    with tls_redis_server(tmp_path_factory.mktemp("tls-redis")) as server:
        yield server


def test_a_client_that_verifies_by_default_is_refused_by_the_self_signed_certificate(tls_redis) -> None:
    """What the platforms' URL does to a plain redis-py client: the reason the service does not verify by default."""
    url, _ = tls_redis
    with pytest.raises(RedisConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        Redis.from_url(url, socket_connect_timeout=3).ping()


def test_the_services_clients_connect_and_rq_runs_over_tls(tls_redis, tmp_path: Path) -> None:
    """The runtime built from platform-style settings: both Redis clients answer and a job goes through RQ."""
    url, _ = tls_redis
    settings = Settings(
        line_channel_secret=CHANNEL_SECRET,
        line_channel_access_token=ACCESS_TOKEN,
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        redis_url=url,
        data_dir=tmp_path,
        line_api_base_url=NO_LINE,
    )
    runtime = build_runtime(settings)
    try:
        assert runtime.redis.ping() and runtime.quick_redis.ping()
        runtime.redis.flushdb()
        job = Queue("tls-check", connection=runtime.redis).enqueue(len, "保険の更新")
        SimpleWorker(["tls-check"], connection=runtime.redis).work(burst=True)
        job.refresh()
        assert job.is_finished and job.return_value() == 5
    finally:
        runtime.dispose()


def test_verification_when_asked_needs_the_platforms_ca(tls_redis) -> None:
    """REDIS_TLS_VERIFY=true: refused against the system's CAs, accepted with the certificate's own CA file."""
    url, cert_file = tls_redis
    with pytest.raises(RedisConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        connect(url, timeout=3, tls=Tls(verify=True)).ping()
    assert connect(url, timeout=3, tls=Tls(verify=True, ca_file=cert_file)).ping()


def test_tls_options_go_only_with_a_rediss_url() -> None:
    assert Tls().options("redis://127.0.0.1:6379/0") == {}
    assert Tls(verify=True).options("unix:///tmp/redis.sock") == {}
    assert Tls().options("rediss://h:6380") == {"ssl_cert_reqs": "none", "ssl_check_hostname": False}


def test_a_ca_file_that_would_be_ignored_or_is_missing_is_refused(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    with pytest.raises(ValidationError, match="REDIS_TLS_VERIFY is not true"):
        Settings(redis_tls_ca_file=bundle)
    with pytest.raises(ValidationError, match="no such file"):
        Settings(redis_tls_verify=True, redis_tls_ca_file=tmp_path / "missing.pem")
    assert Settings(redis_tls_verify=True, redis_tls_ca_file=bundle).redis_tls_ca_file == bundle


def test_a_postgres_url_with_sslmode_reaches_libpq_as_given(postgres_url: str) -> None:
    """DATABASE_URL as the platform gives it (`postgres://…?sslmode=require`): the mode is libpq's to apply, so
    against a server without TLS it is refused for that reason, and with TLS the session is encrypted."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    from bot.platform.config import normalise_database_url
    from bot.platform.db import make_engine

    server = make_url(postgres_url)
    platform_style = f"postgres://{server.username}@{server.host}:{server.port or 5432}/{server.database}"
    probe = make_engine(normalise_database_url(platform_style + "?sslmode=disable"))
    with probe.connect() as connection:
        server_tls = connection.execute(text("SHOW ssl")).scalar_one() == "on"
    probe.dispose()
    required = make_engine(normalise_database_url(platform_style + "?sslmode=require"))
    try:
        if server_tls:
            with required.connect() as connection:
                encrypted = connection.execute(
                    text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                ).scalar_one()
            assert encrypted is True
        else:
            with pytest.raises(OperationalError, match="does not support SSL"):
                required.connect().close()
    finally:
        required.dispose()
