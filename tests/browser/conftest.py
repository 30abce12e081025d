"""Browser tests: the real service as `make run` starts it, seeded by `make demo`, driven in Debian's headless
Chromium through Playwright (never `playwright install`: no browser is downloaded).

Chromium comes from CHROMIUM_PATH (default /usr/bin/chromium, Debian's `chromium` package, which .ci/run
installs). Without it the tests skip with the reason, except in CI (CI=true), where a missing browser fails.
Playwright gives each launch a fresh, empty profile (its own --user-data-dir) and each test a new context.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# each run saves its screenshots under var/ (not tracked); SCREENSHOTS_DIR=docs/screenshots refreshes the README's
SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR") or ROOT / "var" / "screenshots")
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# No GPU, no sandbox (root in CI), and none of the background traffic a closed network would refuse.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STAFF_LINE_USER = "Ude000000000000000000000000000001"  # DEMO0001's LINE user (devtools/demo.py LINE_IDS)
INHERITED = ("DATABASE_URL", "REDIS_URL", "LINE_API_BASE_URL", "SIMULATOR_ENABLED", "LINE_ACCOUNT_LINK_URL")


@dataclass
class Service:
    base: str  # the web app, as `make run` prints it
    data_dir: Path
    env: dict[str, str]


def _missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}: CI must run the browser tests (.ci/run installs chromium)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return json.load(response)["status"] == "ok"
    except OSError:
        return False


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's Chromium, headless, launched once for the session."""
    if not Path(CHROMIUM).is_file():
        _missing(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory, browser: object) -> Iterator[Service]:
    """`make demo`, then `make run`, on a fresh DATA_DIR and free ports: embedded Redis, SQLite, the LINE
    emulator, gunicorn and the worker, with the demo's customers, scenarios and coupon campaigns."""
    data_dir = tmp_path_factory.mktemp("service")
    port, emulator_port = _free_port(), _free_port()
    env = {key: value for key, value in os.environ.items() if key not in INHERITED}
    env.update(DATA_DIR=str(data_dir), PORT=str(port), EMULATOR_PORT=str(emulator_port), LOG_LEVEL="WARNING")
    env["ADMIN_USERS"] = json.dumps(
        {STAFF_LINE_USER: ["operator"]}
    )  # the README's tour: 佐藤 (DEMO0001) is staff
    demo = subprocess.run(
        [sys.executable, "-m", "devtools.demo", "--population", "40", "--locale", "ja"],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert demo.returncode == 0, (demo.stdout + demo.stderr)[-3000:]
    log = (data_dir / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.local", "serve"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _healthy(f"{base}/healthz"):
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("the service did not start:\n" + (data_dir / "serve.log").read_text()[-3000:])
            time.sleep(0.2)
        yield Service(base, data_dir, env)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    """A new browser context (no cookies, no storage) in Japanese, and a page in it."""
    context = browser.new_context(
        locale="ja-JP", timezone_id="Asia/Tokyo", viewport={"width": 1280, "height": 860}
    )  # type: ignore[attr-defined]
    context.set_default_timeout(15_000)
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture(scope="session")
def screenshot() -> object:
    """Save a page's screenshot as <SCREENSHOTS_DIR or var/screenshots>/<name>.png."""

    def take(page: object, name: str, full_page: bool = False) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)  # type: ignore[attr-defined]
        return path

    return take
