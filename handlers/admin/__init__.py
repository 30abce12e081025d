"""The admin chat: staff type slash commands (Japanese or English names) in an admin group or 1:1.

Each command module collects its commands on its own `admin = AdminListeners()` like Bolt listeners, with their
names, the role they need and their usage line; `build_admin` registers them when the app or the worker starts,
and `/help` is generated from that registry. A command acknowledges at once; long work (a broadcast's count, its
sending) runs in the worker. Bad arguments get the usage line, never a stack trace. Every attempt is audited, and
the stored webhook event of a slash command loses its text at once (it may name a customer; the audit keeps the
customer keys as keyed hashes).
"""

from __future__ import annotations

import logging
import shlex
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from bot.delivery.notices import STAFF_LOCALE
from bot.inbound.context import Ctx
from bot.platform.i18n import text
from bot.platform.registry import Registry
from bot.privacy.redaction import redact_event
from bot.staff.admin import Role, StaffMember, audit, identify, pseudonym, speaker
from bot.staff.desk import reply_staff

log = logging.getLogger(__name__)
PREFIX = "/"  # a full-width ／ is the same after NFKC


class Usage(Exception):
    """The arguments do not fit the command: the usage line is the answer."""


class Refused(Exception):
    """The command may not run (a role is missing, the same person approves): the message key says why."""

    def __init__(self, key: str, **fields: object) -> None:
        super().__init__(key)
        self.key, self.fields = key, fields


class Answered(Exception):
    """The handler has answered and stops here (no customer by that key, several to choose from): `result` is
    the audit's."""

    def __init__(self, result: str) -> None:
        super().__init__(result)
        self.result = result


@dataclass
class Call:
    """One command as typed: who, the command's name, its arguments, and where answers go."""

    staff: StaffMember
    name: str
    args: list[str]
    raw: str
    reply_token: str | None
    replied: list[int] = field(default_factory=list)
    personal_data: bool = False  # set by a look-up that shows customer data (the audit says so)
    well_formed: bool = True  # False: an unclosed quote, the arguments could not be read
    detail: str | None = None  # what the audit records as the outcome

    def option(self, name: str) -> str | None:
        """`--name value` (removed from the arguments); None when absent."""
        flag = f"--{name}"
        if flag not in self.args:
            return None
        at = self.args.index(flag)
        if at + 1 >= len(self.args):
            raise Usage
        value = self.args[at + 1]
        del self.args[at : at + 2]
        return value


Handler = Callable[[Call, Ctx], str | None]  # returns the audit result ("done" unless said otherwise)


@dataclass(frozen=True)
class Command:
    name: str
    aliases: tuple[str, ...]
    role: Role
    handler: Handler
    texts: str  # the message group holding `<name>.summary` and `<name>.usage` for /help


# a tap on an admin button: (staff, the button's value, reply token, ctx) → the audit result
PostbackHandler = Callable[[StaffMember, str, str | None, Ctx], str]


@dataclass
class AdminListeners:
    """The commands and button taps one admin module answers, collected by its decorators until `build_admin`
    registers them."""

    commands: list[Command] = field(default_factory=list)
    postbacks: list[tuple[str, PostbackHandler]] = field(default_factory=list)

    def command(
        self, name: str, *aliases: str, role: Role = Role.OPERATOR, texts: str = "admin_help"
    ) -> Callable[[Handler], Handler]:
        def collect(handler: Handler) -> Handler:
            self.commands.append(Command(name, aliases, role, handler, texts))
            return handler

        return collect

    def postback(self, action: str) -> Callable[[PostbackHandler], PostbackHandler]:
        def collect(handler: PostbackHandler) -> PostbackHandler:
            self.postbacks.append((action, handler))
            return handler

        return collect


@dataclass(frozen=True)
class AdminRegistry:
    commands: Registry[str, Command]  # by every name and alias
    order: tuple[Command, ...]  # /help's order
    postbacks: Registry[str, PostbackHandler]


def build_admin(modules: Iterable[AdminListeners]) -> AdminRegistry:
    """One registry of every module's commands (by name and alias) and taps; DuplicateKey for one claimed twice."""
    commands: Registry[str, Command] = Registry("admin command")
    postbacks: Registry[str, PostbackHandler] = Registry("admin button")
    order: list[Command] = []
    for listeners in modules:
        for entry in listeners.commands:
            commands.add_all((key, entry) for key in (entry.name, *entry.aliases))
        order.extend(listeners.commands)
        postbacks.add_all(listeners.postbacks)
    return AdminRegistry(commands, tuple(order), postbacks)


def say(call: Call, ctx: Ctx, template: str, **fields: object) -> None:
    """Answer in the admin chat (by reply for the first answer, while LINE's token is fresh). `template` is
    `group.key`, or a key of the `admin` group."""
    token = call.reply_token if not call.replied else None
    key = template if "." in template else f"admin.{template}"
    call.replied.append(reply_staff(ctx, call.staff.reply_to, token, key, **fields))


def parse(text: str) -> tuple[str, list[str], bool] | None:
    """`/broadcast general_notice --at "2026-12-24 10:00"` → ("broadcast", [...], True); None for other text.
    An unclosed quote still names the command, with the words as typed and False (the arguments do not parse)."""
    stripped = unicodedata.normalize("NFKC", text).strip()
    if not stripped.startswith(PREFIX):
        return None
    try:
        words, parsed = shlex.split(stripped[1:]), True
    except ValueError:
        words, parsed = stripped[1:].split(), False
    return (words[0].lower(), words[1:], parsed) if words else None


def handle_text(event: object, ctx: Ctx, text: str) -> bool:
    """Run `text` as an admin command if it is one from staff; True when the ordinary bot must stay out.

    Anyone else's slash command runs nothing and is audited as refused; False lets the ordinary bot answer as
    it would any text (so a customer learns nothing of the commands)."""
    parsed = parse(text)
    if parsed is None:
        return False
    name, args, well_formed = parsed
    source = getattr(event, "source", None)
    staff = identify(ctx.settings, source)
    connection = ctx.session.connection()
    redact_event(connection, ctx.event_row_id, ctx.now)  # what was typed may name a customer: not kept
    commands = ctx.handlers.admin.commands
    if staff is None:
        actor, place = speaker(source)
        known = commands[name].name if name in commands else "-"
        audit(connection, _stranger(ctx, actor), place, known, "", "refused", ctx.now, "not staff here")
        return place != "1:1"  # in a group the bot stays silent; in 1:1 the ordinary bot answers
    call = Call(staff, name, args, text, getattr(event, "reply_token", None), well_formed=well_formed)
    entry = commands.get(name)
    result, detail = _run(entry, call, ctx)
    audit(
        connection,
        staff.actor,
        staff.place,
        entry.name if entry else name,
        " ".join(args),
        result,
        ctx.now,
        detail or call.detail,
        call.personal_data,
    )
    return True


def _stranger(ctx: Ctx, actor: str | None) -> str:
    """Someone who may not command here is often a customer: the audit keeps their LINE user id as a keyed hash
    (a listed staff member, commanding from the wrong place, as is), and never what they typed (it may be
    anything a customer wrote), only a command name of ours."""
    if actor is None:
        return "-"
    return actor if actor in ctx.settings.admin_users else pseudonym(ctx.settings, actor)


def _run(entry: Command | None, call: Call, ctx: Ctx) -> tuple[str, str | None]:
    if entry is None:
        say(call, ctx, "unknown", name=call.name)
        return "unknown", None
    if not call.staff.may(entry.role):
        say(call, ctx, "refused_role", name=entry.name, role=str(entry.role))
        return "refused", f"needs {entry.role}"
    try:
        if not call.well_formed:
            raise Usage
        return entry.handler(call, ctx) or "done", None
    except Usage:
        say(call, ctx, "usage", usage=usage_line(entry))
        return "usage", None
    except Refused as refused:
        say(call, ctx, refused.key, **refused.fields)  # a full `group.key`
        return "refused", refused.key
    except Answered as answered:
        return answered.result, None


def usage_line(entry: Command) -> str:
    return text(f"messages.{entry.texts}.{entry.name}.usage", STAFF_LOCALE)


def summary_line(entry: Command) -> str:
    return text(f"messages.{entry.texts}.{entry.name}.summary", STAFF_LOCALE)


def handle_postback(event: object, ctx: Ctx, action: str, value: str | None) -> bool:
    """A staff member's tap on an admin button (confirm, approve, cancel); True when it was one. The handler
    returns the audit result (done, refused …)."""
    handler = ctx.handlers.admin.postbacks.get(action)
    if handler is None:
        return False
    source = getattr(event, "source", None)
    staff = identify(ctx.settings, source)
    connection = ctx.session.connection()
    if staff is None:
        actor, place = speaker(source)
        audit(connection, _stranger(ctx, actor), place, action, "", "refused", ctx.now, "not staff here")
        return True
    result = handler(staff, value or "", getattr(event, "reply_token", None), ctx)
    audit(connection, staff.actor, staff.place, action, value or "", result, ctx.now)
    return True
