"""The service as a Heroku-like platform runs it: a fresh virtualenv from `requirements.txt` alone (no dev tools,
the project not installed: the code runs from its directory, as in the platform's slug), the Procfile's release,
web and worker started with only platform-style settings (`PORT`, `DATABASE_URL=postgres://…` to a new empty
database, `REDIS_URL=rediss://…` to a TLS-only redis-server with a self-signed certificate, the LINE settings and
the insurer's own identity). Then a signed webhook in, the greeting out at the LINE emulator, `/healthz` green."""

from __future__ import annotations

import os
import re
import secrets
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import requests
from sqlalchemy.engine import make_url

from devtools.line_emulator import LineEmulator
from tests import factories
from tests.conftest import ACCESS_TOKEN, CHANNEL_SECRET, DEFAULT_POSTGRES
from tests.factories import OWN_SERVICE_SETTINGS
from tests.integration.tls_helpers import free_port, tls_redis_server

ROOT = Path(__file__).resolve().parents[2]
INSTALL_SECONDS = 600


@pytest.fixture(scope="module")
def slug_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Python of a virtualenv made from the lock alone, hashes checked, as the buildpack makes it."""
    venv = tmp_path_factory.mktemp("slug") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    installed = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--require-hashes",
            "-r",
            str(ROOT / "requirements.txt"),
        ],
        capture_output=True,
        text=True,
        timeout=INSTALL_SECONDS,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    listed = subprocess.run([str(python), "-m", "pip", "list"], capture_output=True, text=True, check=True)
    assert not re.search(r"^(pytest|ruff|playwright|hypothesis)\s", listed.stdout, re.MULTILINE)
    return python


@pytest.fixture
def empty_database() -> Iterator[str]:
    """A new database with no tables, as the add-on hands it out: its URL in the platform's `postgres://` form."""
    admin_url = os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    if admin_url == "off":
        pytest.skip("TEST_POSTGRES_URL=off")
    name = f"line_test_slug_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    server = make_url(admin_url)
    credentials = server.username + (f":{server.password}" if server.password else "")
    try:
        yield f"postgres://{credentials}@{server.host or '127.0.0.1'}:{server.port or 5432}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def _command(slug_python: Path, line: str) -> list[str]:
    """A Procfile line run with the slug's executables, as the platform puts its virtualenv first on PATH."""
    program, *args = shlex.split(line)
    return [str(slug_python.parent / program), *args]


def test_release_web_and_worker_from_the_lock_alone_with_platform_settings(
    slug_python: Path, empty_database: str, tmp_path: Path
) -> None:
    processes: list[tuple[subprocess.Popen, Path]] = []
    with (
        tls_redis_server(tmp_path) as (redis_url, _certificate),
        LineEmulator(channel_access_token=ACCESS_TOKEN) as line,
    ):
        port = free_port()
        env = {
            "PATH": f"{slug_python.parent}:/usr/bin:/bin",
            "HOME": str(tmp_path),
            "LANG": "C.UTF-8",
            "PORT": str(port),
            "DATABASE_URL": empty_database,
            "REDIS_URL": redis_url,
            "LINE_CHANNEL_SECRET": CHANNEL_SECRET,
            "LINE_CHANNEL_ACCESS_TOKEN": ACCESS_TOKEN,
            "LINE_API_BASE_URL": line.base_url,  # the platform's would be LINE's own
            "DATA_DIR": str(tmp_path / "data"),
            "WEB_CONCURRENCY": "1",
            **OWN_SERVICE_SETTINGS,
        }
        procfile = _procfile()
        release = subprocess.run(
            _command(slug_python, procfile["release"]),
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert release.returncode == 0, release.stdout[-2000:] + release.stderr[-2000:]
        try:
            for kind in ("web", "worker"):
                log = tmp_path / f"{kind}.log"
                process = subprocess.Popen(
                    _command(slug_python, procfile[kind]),
                    cwd=ROOT,
                    env=env,
                    stdout=log.open("w"),
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                processes.append((process, log))
            base = f"http://127.0.0.1:{port}"
            health = _wait_for_health(base, processes)
            assert health == {"status": "ok", "database": "ok", "redis": "ok"}

            user = factories.user_id()
            token = line.issue_reply_token(user)
            payload = factories.body(
                factories.base_event("follow", user, replyToken=token, follow={"isUnblocked": False})
            )
            response = requests.post(
                f"{base}/callback",
                data=payload,
                timeout=10,
                headers=factories.signed_headers(payload, CHANNEL_SECRET),
            )
            assert response.status_code == 200 and response.json()["stored"] == 1
            deadline = time.monotonic() + 60
            while not line.requests_to("/v2/bot/message/reply") and time.monotonic() < deadline:
                time.sleep(0.05)
            [reply] = line.requests_to("/v2/bot/message/reply")
            assert reply.status == 200, _logs(processes)
            greeting = reply.body["messages"][0]
            assert "友だち追加ありがとうございます" in greeting["text"]
        finally:
            for process, _log in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process, _log in processes:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
    assert [process.returncode for process, _ in processes] == [0, 0], _logs(processes)


def _wait_for_health(base: str, processes: list[tuple[subprocess.Popen, Path]]) -> dict:
    deadline = time.monotonic() + 60  # the platform's limit for binding $PORT
    while time.monotonic() < deadline:
        if any(process.poll() is not None for process, _ in processes):
            pytest.fail(f"a process exited at start: {_logs(processes)}")
        try:
            response = requests.get(f"{base}/healthz", timeout=5)
            return response.json()
        except requests.RequestException:
            time.sleep(0.1)
    pytest.fail(f"/healthz did not answer within 60 s: {_logs(processes)}")


def _logs(processes: list[tuple[subprocess.Popen, Path]]) -> str:
    return "\n".join(f"--- {log.name}\n{log.read_text()[-2000:]}" for _, log in processes)
