"""`python -m devtools.local send`: a signed test event posted to the running service (`make run`), as LINE
would send it, and the bot's answer printed as the LINE emulator received it.

Only what the bot understands is sent: a postback names one of its buttons' actions (bot/delivery/buttons.py) or
the opt-out link; anything else is refused with the list.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import urllib.request
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from devtools.line_emulator import webhook_sender
from devtools.local import local_environment

TEST_USER = "U" + "1" * 32
PICKED = "%Y-%m-%dT%H:%M"  # what LINE's date-time picker posts in `datetime` mode: local time, no zone


def postback_actions() -> dict[str, str]:
    """{action: how LINE posts it} for every postback the bot answers: its buttons' actions (`postback`, or
    `datetimepicker` with the moment picked) and the opt-out link of marketing messages."""
    from bot.delivery.buttons import ACTIONS
    from handlers.postback import OPT_OUT

    return {name: kind for name, kind in ACTIONS.items() if kind != "uri"} | {OPT_OUT: "postback"}


def postback_action(name: str) -> str:
    """argparse type: an action the bot answers, or a refusal that lists them all."""
    actions = postback_actions()
    if name not in actions:
        pickers = [action for action, kind in actions.items() if kind == "datetimepicker"]
        raise argparse.ArgumentTypeError(
            f"the bot answers no postback action {name!r}; it answers: {', '.join(sorted(actions))} "
            f"({', '.join(pickers)} with --datetime YYYY-MM-DDTHH:MM, the moment picked)"
        )
    return name


def picked_moment(value: str) -> str:
    """argparse type: a moment as LINE's date-time picker posts it."""
    try:
        datetime.strptime(value, PICKED)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not YYYY-MM-DDTHH:MM (e.g. 2026-07-01T10:00)"
        ) from None
    return value


def build_event(args: argparse.Namespace, user: str, reply_token: str) -> dict[str, Any]:
    """The webhook event LINE would send for `args` (the reply token unused by an unfollow)."""
    if args.event == "unfollow":
        return webhook_sender.event("unfollow", user)
    if args.event == "follow":
        return webhook_sender.event("follow", user, replyToken=reply_token, follow={"isUnblocked": False})
    if args.event == "message":
        message = {"id": str(time.time_ns()), "type": "text", "text": args.text, "quoteToken": "q"}
        return webhook_sender.event("message", user, replyToken=reply_token, message=message)
    fields = {"a": args.action} | ({"v": args.value} if args.value else {})
    postback: dict[str, Any] = {"data": urlencode(fields)}
    if args.datetime:
        postback["params"] = {"datetime": args.datetime}
    return webhook_sender.event("postback", user, replyToken=reply_token, postback=postback)


def send(args: argparse.Namespace) -> int:
    """Post the event signed as LINE does; then print what the bot answered, as the LINE emulator received it."""
    picker = args.event == "postback" and postback_actions()[args.action] == "datetimepicker"
    if args.event == "postback" and picker != bool(args.datetime):
        args.refuse(
            f"{args.action} is LINE's date-time picker: give the moment picked, --datetime YYYY-MM-DDTHH:MM"
            if picker
            else f"--datetime is for a date-time picker action only, not {args.action}"
        )
    env = local_environment()
    user = args.user or TEST_USER
    emulator = Emulator(
        args.emulator or env.get("LINE_API_BASE_URL") or f"http://127.0.0.1:{env['EMULATOR_PORT']}"
    )
    before = emulator.message_ids(user)
    reply_token = emulator.reply_token(user) if before is not None else os.urandom(16).hex()
    url = args.url or f"{env['PUBLIC_BASE_URL']}/callback"
    body = webhook_sender.payload(build_event(args, user, reply_token))
    status, answer = webhook_sender.deliver(url, body, env["LINE_CHANNEL_SECRET"])
    print(f"POST {url} -> {status} {answer.strip()}", flush=True)
    if status != 200:
        return 1
    if args.event == "unfollow":
        return 0  # LINE gives no reply token for an unfollow: the bot answers nothing
    if before is None:
        print(f"(no LINE emulator at {emulator.base_url}: the bot's answer cannot be shown)")
        return 0
    answered = emulator.wait_for_messages(user, before, args.wait)
    if not answered:
        print(f"no answer within {args.wait:g} s (is the worker running?)")
        return 1
    print("bot:")
    for message in answered:
        print("\n".join("  " + text for text in describe(message)))
    return 0


class Emulator:
    """The LINE emulator's control API, as `send` needs it: reply tokens and the messages LINE accepted."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base_url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.load(response)

    def message_ids(self, user: str) -> set[str] | None:
        """Ids of the messages LINE accepted for `user` so far; None when no emulator answers."""
        try:
            sent = self._call("GET", f"/__emulator__/sent_messages?to={quote(user)}")["sentMessages"]
        except (OSError, ValueError, KeyError):  # nothing listening, or not the emulator (LINE itself)
            return None
        return {message["id"] for message in sent}

    def reply_token(self, user: str) -> str:
        """A reply token issued for `user`, as LINE issues one with each event."""
        return self._call("POST", "/__emulator__/reply_tokens", {"userId": user})["replyToken"]

    def wait_for_messages(self, user: str, seen: set[str], seconds: float) -> list[dict[str, Any]]:
        """The message objects accepted for `user` beyond `seen`, once there are any (or [] after `seconds`)."""
        deadline = time.monotonic() + seconds
        while True:
            sent = self._call("GET", f"/__emulator__/sent_messages?to={quote(user)}")["sentMessages"]
            new = [message["message"] for message in sent if message["id"] not in seen]
            if new or time.monotonic() >= deadline:
                return new
            time.sleep(0.2)


def describe(message: dict[str, Any]) -> list[str]:
    """What LINE's app shows of a message: its text (or a rich message's alt text), then its quick-reply
    buttons, each with the `send` arguments that tap it."""
    if message.get("type") == "text":
        lines = [message["text"]]
    else:
        lines = [f"[{message.get('type')}] {message.get('altText', '')}".rstrip()]
    for item in (message.get("quickReply") or {}).get("items", []):
        action = item.get("action", {})
        lines.append(f"  ▸ {action.get('label')}  ({_tap(action)})")
    return lines


def _tap(action: dict[str, Any]) -> str:
    if action.get("type") in ("postback", "datetimepicker"):
        fields = {name: values[0] for name, values in parse_qs(action.get("data", "")).items()}
        value = f" --value {fields['v']}" if "v" in fields else ""
        picked = " --datetime …" if action["type"] == "datetimepicker" else ""
        return f"send postback {fields.get('a', '?')}{value}{picked}"
    if action.get("type") == "message":
        return f"send message {action.get('text', '')}"
    return action.get("uri", action.get("type", ""))


def add_send_command(commands: Any) -> None:
    """`send EVENT …` under the launcher's commands: one sub-command per event, each with its own arguments."""
    sender = commands.add_parser("send", help="post a signed test event to the running service")
    events = sender.add_subparsers(dest="event", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--user", help="LINE user id (default: a fixed test user)")
    common.add_argument("--url", help="webhook URL (default: PUBLIC_BASE_URL/callback)")
    common.add_argument(
        "--emulator", help="LINE emulator URL (default: LINE_API_BASE_URL, else EMULATOR_PORT)"
    )
    common.add_argument(
        "--wait", type=float, default=10.0, help="seconds to wait for the answer (default 10)"
    )
    events.add_parser("follow", parents=[common], help="the user adds the friend")
    events.add_parser("unfollow", parents=[common], help="the user blocks the account")
    message = events.add_parser("message", parents=[common], help="the user types a text")
    message.add_argument("text", nargs="?", default="こんにちは")
    tap = events.add_parser("postback", parents=[common], help="the user taps a button")
    tap.add_argument("action", nargs="?", default="menu", type=postback_action, help="what the button does")
    tap.add_argument("--value", help="the button's value (v=), e.g. a coupon code")
    tap.add_argument("--datetime", type=picked_moment, help="the moment picked (book, reschedule)")
    for event_parser in events.choices.values():
        event_parser.set_defaults(run=send, refuse=event_parser.error, datetime=None)
