"""Access logs name the route, never the token in the address: gunicorn with the repo's gunicorn.conf.py (as the
Procfile and `make run` start it) and werkzeug's development server, each serving real requests to tracking links,
open pixels, opt-out pages, coupon redemption and the ID連携 page."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[2]
SECRET = "Tk7Qm2Xw9Lp4Rz8Vn3Bc"  # a tracking or link token, a coupon code: what must not be logged
REQUESTS = (
    ("GET", f"/r/{SECRET}"),
    ("GET", f"/r/{SECRET}/home"),
    ("GET", f"/o/{SECRET}.gif"),
    ("GET", f"/u/{SECRET}"),
    ("GET", f"/r/{SECRET}/not/a/route"),
    ("GET", f"/link?lang=en&linkToken={SECRET}"),
    ("POST", f"/api/v1/coupons/{SECRET}/redeem"),
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ask(base: str, method: str, path: str) -> int:
    request = urllib.request.Request(base + path, method=method, data=b"" if method == "POST" else None)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:  # not listening yet
        return 0


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the redirect's target is not ours to ask


@pytest.fixture
def gunicorn_service(sqlite_url: str, redis_url: str, tmp_path: Path):
    """`gunicorn app:app` with gunicorn.conf.py, its output (the access log) collected; yields (base, output)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("LINE_API_BASE_URL", "DASHBOARD_TOKEN")}
    env.update(
        DATABASE_URL=sqlite_url,
        REDIS_URL=redis_url,
        DATA_DIR=str(tmp_path),
        LOCAL_MODE="1",  # as `make run` starts it; the access logger is the same outside local mode
        LINE_API_BASE_URL="http://127.0.0.1:9",
        WEB_CONCURRENCY="1",
        WEB_THREADS="2",
    )
    log_file = tmp_path / "gunicorn.log"
    with log_file.open("w") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "app:app",
                "--bind",
                f"127.0.0.1:{port}",
                "--no-control-socket",
            ],
            cwd=ROOT,  # gunicorn reads ./gunicorn.conf.py, as in production and in devtools/local.py
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while ask(base, "GET", "/healthz") != 200:
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("gunicorn did not start:\n" + log_file.read_text()[-3000:])
            time.sleep(0.2)
        yield base, log_file
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_gunicorn_access_log_shows_routes_not_tokens(gunicorn_service):
    """Gunicorn's access log (gunicorn.conf.py) writes one line per request with the route template and the query
    values hidden (but the page language); the token appears nowhere in its output."""
    base, log_file = gunicorn_service
    for method, path in REQUESTS:
        ask(base, method, path)
    expected = (
        '"GET /r/<token> HTTP/1.1" ',
        '"GET /r/<token>/<name> HTTP/1.1" ',
        '"GET /o/<token>.gif HTTP/1.1" ',
        '"GET /u/<token> HTTP/1.1" ',
        '"GET /r/<path:_rest> HTTP/1.1" ',
        '"GET /link?lang=en&linkToken=… HTTP/1.1" ',
        '"POST /api/v1/coupons/<code>/redeem HTTP/1.1" ',
    )
    deadline = time.monotonic() + 10  # a line is written just after its answer is sent
    while not all(line in log_file.read_text() for line in expected) and time.monotonic() < deadline:
        time.sleep(0.1)
    output = log_file.read_text()
    assert SECRET not in output
    for line in expected:
        assert line in output, output[-3000:]


def test_werkzeug_request_log_shows_routes_not_tokens(app, caplog):
    """Werkzeug's development server (`flask run`) logs each request with the token hidden (`/r/…`) and the
    query values but the page language hidden."""
    caplog.set_level(logging.INFO, logger="werkzeug")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        for method, path in REQUESTS:
            ask(f"http://127.0.0.1:{server.server_port}", method, path)
    finally:
        server.shutdown()
        thread.join(timeout=10)
    lines = [record.getMessage() for record in caplog.records if record.name == "werkzeug"]
    assert len(lines) == len(REQUESTS) and SECRET not in caplog.text
    for shown in (
        "GET /r/… HTTP/1.1",
        "GET /o/… HTTP/1.1",
        "GET /u/… HTTP/1.1",
        "GET /link?lang=en&linkToken=…",
    ):
        assert any(shown in line for line in lines), lines
