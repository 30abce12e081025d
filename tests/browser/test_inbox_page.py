"""The staff inbox in a real browser, against the service `make run` starts: a customer asks for a person in the
chat, a supervisor created with `flask staff add` logs in, opens the conversation, reveals the card, replies
(the customer's LINE gets it) and gives the conversation back to the bot.

Screenshots go to INBOX_SHOTS_DIR (default /tmp/inbox-shots); their paths are printed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path
from urllib.parse import quote

from devtools.local import LOCAL_SECRET, LOCAL_TOKEN
from tests.browser.conftest import ROOT

SHOTS = Path(os.environ.get("INBOX_SHOTS_DIR") or "/tmp/inbox-shots")
CUSTOMER = "U" + "4" * 32  # a new LINE user of the simulator's kind: a prospect
PASSWORD = "browser test password"
REFERENCE = re.compile(r"H\d{6}-[2-9A-HJ-NP-Z]{4}")


def shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"inbox screenshot: {path}")
    return path


def run(service, *args: str, answered: bool = True) -> str:
    env = dict(
        service.env, LINE_CHANNEL_SECRET=LOCAL_SECRET, LINE_CHANNEL_ACCESS_TOKEN=LOCAL_TOKEN, LOCAL_MODE="1"
    )
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    # `send` ends with 1 when the bot did not answer: what the customer writes to staff gets no bot answer
    assert done.returncode == (0 if answered else 1), (done.stdout + done.stderr)[-2000:]
    return done.stdout


def customer_says(service, text: str, answered: bool = True) -> str:
    wait = "20" if answered else "3"
    command = ("-m", "devtools.local", "send", "message", text, "--user", CUSTOMER, "--wait", wait)
    return run(service, *command, answered=answered)


def line_texts(service) -> list[str]:
    url = f"http://127.0.0.1:{service.env['EMULATOR_PORT']}/__emulator__/sent_messages?to={quote(CUSTOMER)}"
    with urllib.request.urlopen(url, timeout=5) as response:
        sent = json.load(response)["sentMessages"]
    return [m["message"].get("text", "") for m in sent]


def test_log_in_open_reply_and_release(service, page):
    """Log in, open the waiting conversation (card masked, then revealed), reply, release."""
    run(service, "-m", "flask", "--app", "app", "staff", "add", "hanako", "--name", "山田 花子",
        "--role", "supervisor", "--password", PASSWORD)  # fmt: skip
    run(service, "-m", "devtools.local", "send", "follow", "--user", CUSTOMER, "--wait", "20")
    reference = REFERENCE.search(customer_says(service, "担当者"))[0]
    silent = customer_says(service, "事故の相手方と連絡が取れません", answered=False)
    assert "no answer" in silent  # the bot is silent: what the customer writes goes to staff

    page.goto(f"{service.base}/inbox")
    page.fill("#login", "hanako")
    page.fill("#password", PASSWORD)
    shot(page, "inbox-login")
    page.click("#log-in")
    page.wait_for_selector("#handovers")
    assert reference in page.inner_text("#handovers")
    shot(page, "inbox-list")

    page.click(f"text={reference}")
    page.wait_for_selector("#history")
    assert "事故の相手方と連絡が取れません" in page.inner_text("#history")
    assert page.inner_text("#card-email") == "—"  # a prospect: nothing on file, nothing to reveal
    shot(page, "inbox-conversation")
    page.click("#reveal")
    page.wait_for_selector("text=表示中")

    page.fill("#body", "担当の山田です。相手方へはこちらから連絡いたします。")
    page.click("#send")
    page.wait_for_selector("#done")
    assert "担当の山田です。相手方へはこちらから連絡いたします。" in page.inner_text("#history")
    shot(page, "inbox-replied")
    for _ in range(100):  # the reply is pushed by the worker: ask the emulator until it has it
        if "【担当者より】\n担当の山田です。相手方へはこちらから連絡いたします。" in line_texts(service):
            break
        page.wait_for_timeout(100)
    assert "【担当者より】\n担当の山田です。相手方へはこちらから連絡いたします。" in line_texts(service)

    page.click("#release")
    page.wait_for_selector("#ended")
    shot(page, "inbox-released")
    answered = customer_says(service, "メニュー")
    assert "ご用件をお選びください" in answered
