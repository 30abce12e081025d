"""The log guard (tests/log_guard.py) finds personal data in log lines and fails the test that logged it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.log_guard import find_personal_data

ROOT = Path(__file__).resolve().parents[2]


def kinds(text: str) -> set[str]:
    return {kind for kind, _ in find_personal_data(text)}


def test_each_kind_of_personal_data_is_found():
    """LINE user ids, emails, phones in every Japanese form, and names of the sample data, demo and tests."""
    assert kinds("push to U0123456789abcdef0123456789abcdef") == {"LINE user id"}
    assert kinds("sent to hanako.sato12@example.jp") >= {"email address"}
    for phone in (
        "090-1234-5678",
        "09012345678",
        "03-1234-5678",
        "0312345678",
        "+819012345678",
        "+81-90-1234-5678",
    ):
        assert kinds(f"sms to {phone} failed") == {"phone number"}, phone
    for name in ("山田 太郎", "佐藤健一", "勅使河原", "林 愛", "鈴木 花子", "中村 大輔", "高橋 翔"):
        assert kinds(f"customer {name} linked") == {"name"}, name


def test_ids_times_and_urls_are_not_personal_data():
    """What the service does log (ids, counts, times, hashes, URLs without users) passes."""
    clean = [
        "event row=12 type=message processed in 0.031 s",
        "2026-12-07 02:20:58,558 INFO rq.worker: default: Job OK (a1b2c3d4-0912-4567-8901-abcdef123456)",
        "ingest api: client 12c9d8eb671641ca, 3 events accepted (document_requested×3), key -",
        "connecting to postgresql://postgres@127.0.0.1:5432/line_test_0a1b2c3d",
        "delivery=42 customer=7 channel=sms sent at 1718000000000",
        "group C0123456789abcdef0123456789abcdef notified",
    ]
    assert [line for line in clean if kinds(line)] == []


def test_a_test_that_logs_personal_data_fails_and_one_that_logs_ids_passes(tmp_path):
    """Run by pytest with only the guard loaded: the leaking test fails, naming the kind, not the value."""
    (tmp_path / "test_sample.py").write_text(
        "import logging\n"
        "log = logging.getLogger('bot.sample')\n"
        "def test_leaks():\n"
        "    log.info('welcome mail to %s', 'taro.yamada@example.com')\n"
        "def test_ids_only():\n"
        "    log.info('welcome mail to customer=%s', 42)\n"
        "def test_debug_is_not_production():\n"
        "    log.debug('welcome mail to %s', 'taro.yamada@example.com')\n",
        encoding="utf-8",
    )
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    options = ["-q", "-p", "no:cacheprovider", "-p", "tests.log_guard", "--show-capture=no"]
    command = [sys.executable, "-m", "pytest", *options, "test_sample.py"]
    run = subprocess.run(
        command, check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert "1 failed, 2 passed" in run.stdout, run.stdout
    assert "FAILED test_sample.py::test_leaks" in run.stdout and "‹email address›" in run.stdout
    assert "taro.yamada@example.com" not in run.stdout
