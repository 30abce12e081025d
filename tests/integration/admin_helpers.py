"""Builders for the admin-chat tests: staff and strangers typing in an admin group, another group or 1:1, with
reply tokens the LINE emulator issued, and what the bot answered there."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select

from devtools.line_emulator import LineEmulator
from models import AdminAudit
from tests import factories

ADMIN_GROUP = "C" + "a" * 32
OTHER_GROUP = "C" + "b" * 32


def new_user() -> str:
    return "U" + secrets.token_hex(16)


def staff_settings(runtime, operators: list[str], approvers: list[str], **more: Any) -> None:
    users = {user: ["operator"] for user in operators} | {
        user: ["operator", "approver"] for user in approvers
    }
    runtime.settings = runtime.settings.model_copy(
        update={"admin_users": users, "admin_groups": [ADMIN_GROUP], **more}
    )


class StaffChat:
    """One person typing where they are (a group, or 1:1 when `group` is None)."""

    def __init__(
        self, runtime, line: LineEmulator, post_webhook, drain, user: str, group: str | None
    ) -> None:
        self.runtime, self.line, self.post, self.drain = runtime, line, post_webhook, drain
        self.user, self.group = user, group
        self.seen = 0

    @property
    def place(self) -> str:
        return self.group or self.user

    def _source(self) -> dict[str, str]:
        if self.group:
            return {"type": "group", "groupId": self.group, "userId": self.user}
        return {"type": "user", "userId": self.user}

    def _send(self, event: dict[str, Any]) -> list[str]:
        response = self.post(factories.body(event))
        assert response.status_code == 200, response.data
        self.drain()
        return self.answers()

    def answers(self) -> list[str]:
        """Texts the bot sent where this person typed, since the last look."""
        sent = [m.message for m in self.line.sent_messages(to=self.place)]
        new, self.seen = sent[self.seen :], len(sent)
        return [m.get("text", m.get("altText", "")) for m in new]

    def say(self, text: str) -> list[str]:
        token = self.line.issue_reply_token(self.place)
        message = {"id": factories.ulid()[:18], "type": "text", "text": text, "quoteToken": "q" * 16}
        return self._send(
            factories.base_event("message", replyToken=token, message=message, source=self._source())
        )

    def tap(self, data: str) -> list[str]:
        token = self.line.issue_reply_token(self.place)
        event = factories.base_event(
            "postback", replyToken=token, postback={"data": data}, source=self._source()
        )
        return self._send(event)

    def last_buttons(self) -> list[str]:
        """The postback data of the quick replies of the last message sent here."""
        messages = [m.message for m in self.line.sent_messages(to=self.place)]
        items = messages[-1].get("quickReply", {}).get("items", []) if messages else []
        return [item["action"].get("data", "") for item in items]


def audit_rows(runtime) -> list[tuple]:
    with runtime.engine.connect() as connection:
        rows = connection.execute(
            select(AdminAudit.actor, AdminAudit.place, AdminAudit.command, AdminAudit.result).order_by(
                AdminAudit.id
            )
        )
        return [tuple(row) for row in rows]
