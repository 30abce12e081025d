"""Builders for the chat tests: a LINE emulator the service sends to, and signed webhook events whose reply
tokens the emulator issued (so replies are checked as LINE checks them)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select

from devtools.line_emulator import LineEmulator
from models import CustomerChannels
from tests import factories
from tests.conftest import ACCESS_TOKEN


@contextmanager
def emulated_line(runtime) -> Iterator[LineEmulator]:
    """The service talks to a local LINE emulator for the duration."""
    with LineEmulator(channel_access_token=ACCESS_TOKEN) as line:
        runtime.settings = runtime.settings.model_copy(
            update={"line_api_base_url": line.base_url, "quiet_hours": ""}
        )
        yield line


class Chat:
    """One LINE user talking to the service: send events, read what the bot answered."""

    def __init__(
        self,
        runtime,
        line: LineEmulator,
        post_webhook,
        drain,
        user_id: str | None = None,
        language: str = "ja",
    ) -> None:
        """`language`: the LINE app's language, as LINE's profile reports it (GET /v2/bot/profile)."""
        self.runtime, self.line, self.post, self.drain = runtime, line, post_webhook, drain
        self.user_id = user_id or factories.user_id()
        self.seen = 0
        line.add_friend(self.user_id, language=language)

    def _send(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        response = self.post(factories.body(event))
        assert response.status_code == 200, response.data
        self.drain()
        return self.answers()

    def answers(self) -> list[dict[str, Any]]:
        """The messages the bot sent this user since the last look."""
        sent = [m.message for m in self.line.sent_messages(to=self.user_id)]
        new, self.seen = sent[self.seen :], len(sent)
        return new

    def follow(self, unblocked: bool = False) -> list[dict[str, Any]]:
        token = self.line.issue_reply_token(self.user_id)
        return self._send(
            factories.base_event("follow", self.user_id, replyToken=token, follow={"isUnblocked": unblocked})
        )

    def say(self, text: str) -> list[dict[str, Any]]:
        token = self.line.issue_reply_token(self.user_id)
        message = {"id": factories.ulid()[:18], "type": "text", "text": text, "quoteToken": "q" * 16}
        return self._send(factories.base_event("message", self.user_id, replyToken=token, message=message))

    def tap(self, data: str, **params: str) -> list[dict[str, Any]]:
        token = self.line.issue_reply_token(self.user_id)
        postback: dict[str, Any] = {"data": data}
        if params:
            postback["params"] = params
        return self._send(factories.base_event("postback", self.user_id, replyToken=token, postback=postback))

    def customer_id(self) -> int:
        with self.runtime.engine.connect() as connection:
            return connection.execute(
                select(CustomerChannels.customer_id).where(CustomerChannels.line_user_id == self.user_id)
            ).scalar_one()


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m.get("text", m.get("altText", "")) for m in messages]


def buttons(message: dict[str, Any]) -> list[str]:
    """The quick replies' data (postbacks) or labels (others) of a message."""
    items = message.get("quickReply", {}).get("items", [])
    return [i["action"].get("data", i["action"]["label"]) for i in items]


def action_of(message: dict[str, Any], name: str) -> str:
    """The postback data of the quick reply `a=<name>` in a message."""
    for data in buttons(message):
        if data.startswith(f"a={name}"):
            return data
    raise AssertionError(f"no {name} button in {buttons(message)}")
