"""What the bot does on each inbound LINE event; `build_router()` assembles every handler group."""

from __future__ import annotations

from bot.inbound.router import Router
from handlers import account_link, beacon, follow, group_chat, message, postback
from handlers.admin.commands import MODULES as COMMAND_MODULES  # registers the admin chat's commands
from handlers.default import acknowledge_unhandled
from handlers.dialogs import MODULES as DIALOG_MODULES  # registers the chat's dialogs

GROUPS = (follow.group, message.group, postback.group, account_link.group, group_chat.group, beacon.group)


def build_router() -> Router:
    """The router the worker dispatches stored events through."""
    return Router(GROUPS, default=acknowledge_unhandled)


__all__ = ["COMMAND_MODULES", "DIALOG_MODULES", "GROUPS", "build_router"]
