"""What the bot does on each inbound LINE event, in the chat and in the admin chat.

Handler modules only collect what they handle (importing one registers nothing); `build_handlers()`, called by
the composition roots (app.py, worker.py), registers every module and refuses to start while a button a message
can carry, or a dialog step, has no handler.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.delivery.buttons import DATETIME, POSTBACK
from bot.inbound.router import HandlerGroup, Router
from bot.platform.config import StartupRefused
from handlers import account_link, beacon, follow, group_chat, message, postback
from handlers.admin import AdminListeners, AdminRegistry, build_admin
from handlers.admin.commands import MODULES as COMMAND_MODULES
from handlers.conversation import DIALOG_ACTIONS, ChatListeners, ChatRegistry, build_chat
from handlers.default import acknowledge_unhandled
from handlers.dialogs import MODULES as DIALOG_MODULES

GROUPS = (follow.group, message.group, postback.group, account_link.group, group_chat.group, beacon.group)
CHAT = tuple(module.chat for module in DIALOG_MODULES)
ADMIN = tuple(module.admin for module in COMMAND_MODULES)


@dataclass(frozen=True)
class Handlers:
    """Every handler, registered: the router the worker sends stored events through, and the registries the
    chat and the admin chat look up (on `ctx.handlers`)."""

    events: Router
    chat: ChatRegistry
    admin: AdminRegistry


def build_handlers(
    groups: Iterable[HandlerGroup] = GROUPS,
    chat: Iterable[ChatListeners] = CHAT,
    admin: Iterable[AdminListeners] = ADMIN,
) -> Handlers:
    """Register what every handler module collected (DuplicateKey for a key two handlers claim); StartupRefused
    naming whatever has no handler."""
    handlers = Handlers(Router(groups, default=acknowledge_unhandled), build_chat(chat), build_admin(admin))
    missing = unhandled(handlers)
    if missing:
        raise StartupRefused(
            f"Not starting: nothing answers {', '.join(missing)}. Every postback action a button can carry "
            "(bot/delivery/buttons.py) and every step a dialog can wait at needs a handler."
        )
    return handlers


def unhandled(handlers: Handlers) -> list[str]:
    """The button actions (postbacks and the date-time picker) nobody answers, then the dialog steps without a
    handler. A button answers an open dialog (DIALOG_ACTIONS), or is a chat action, or an admin chat tap."""
    answered = DIALOG_ACTIONS | set(handlers.chat.actions) | set(handlers.admin.postbacks)
    buttons = [f"the button {action}" for action in (*DATETIME, *POSTBACK) if action not in answered]
    return buttons + [f"the dialog step {step}" for step in handlers.chat.unhandled_steps()]


__all__ = ["ADMIN", "CHAT", "GROUPS", "Handlers", "build_handlers"]
