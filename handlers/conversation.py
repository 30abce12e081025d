"""The chat as dialogs: what a text or a tap means, given where the user is.

Each dialog module (handlers/dialogs/) collects what it answers on its own `chat = ChatListeners()`, like Bolt
listeners; `build_chat` registers them when the app or the worker starts (importing a module registers nothing):
- `@chat.action("register_email")`: a postback `a=register_email` (a button in a message or a menu);
- `@chat.command("メール登録", "email")`: a text that starts something whatever dialog is open (it interrupts
  that dialog cleanly: the old state is replaced);
- `NAME = chat.dialog("email_capture", "ask", "confirm")`: a dialog and the steps it can wait at (`begin` and
  `move` go to no other);
- `@chat.step(NAME, "ask")`: the next text or tap of a user whose dialog waits at that step (`media=True`: and the
  photos, videos and files they send there);
- `@chat.media_fallback`: a photo, video or file sent anywhere else (True when it answered).

Any other text goes to the fallbacks (a referral code, then the intent matcher: handlers/dialogs/intents.py), and
otherwise gets the menu with a hand-off to staff: never silence, except while a person has the conversation (a
hand-over, `with_person`): then free text and media go to staff only. Dialog state lives in the database
(bot/chat/dialog_state.py) and times out after DIALOG_IDLE_MINUTES.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.chat.answers import Turn, answer
from bot.chat.attachments import fetch_after_commit, record
from bot.chat.dialog_state import DialogState, current, enter, finish
from bot.inbound.context import Ctx
from bot.platform.registry import Registry
from bot.staff.handovers import active_handover, listen

Handler = Callable[[Turn, Ctx], None]
StepHandler = Callable[[Turn, DialogState, Ctx], None]
Fallback = Callable[[Turn, Ctx], bool]  # True when it answered
MediaFallback = Callable[[Turn, DialogState | None, Ctx], bool]  # True when it answered


class UnknownStep(ValueError):
    """A dialog was sent to a step it does not declare."""


@dataclass(frozen=True)
class DialogSteps:
    """A dialog and the steps it can wait at; the app and the worker do not start while one of them has no
    handler."""

    name: str
    steps: tuple[str, ...]

    def at(self, step: str, data: dict[str, Any]) -> DialogState:
        """This dialog waiting at `step` with `data`."""
        if step not in self.steps:
            raise UnknownStep(f"dialog {self.name} has no step {step!r}")
        return DialogState(self.name, step, data)


@dataclass
class ChatListeners:
    """What one dialog module answers, collected by its decorators until `build_chat` registers it."""

    dialogs: list[DialogSteps] = field(default_factory=list)
    actions: list[tuple[str, Handler]] = field(default_factory=list)
    commands: list[tuple[str, Handler]] = field(default_factory=list)
    steps: list[tuple[tuple[str, str], StepHandler]] = field(default_factory=list)
    fallbacks: list[Fallback] = field(default_factory=list)
    media_steps: list[tuple[str, str]] = field(default_factory=list)
    media_fallbacks: list[MediaFallback] = field(default_factory=list)

    def dialog(self, name: str, *steps: str) -> DialogSteps:
        declared = DialogSteps(name, steps)
        self.dialogs.append(declared)
        return declared

    def action(self, *names: str) -> Callable[[Handler], Handler]:
        return _collect(self.actions, names)

    def command(self, *words: str) -> Callable[[Handler], Handler]:
        return _collect(self.commands, tuple(normalise(word) for word in words))

    def step(
        self, dialog: DialogSteps, step: str, media: bool = False
    ) -> Callable[[StepHandler], StepHandler]:
        dialog.at(step, {})  # UnknownStep at once for a step the dialog does not declare (a typo)
        if media:
            self.media_steps.append((dialog.name, step))
        return _collect(self.steps, ((dialog.name, step),))

    def media_fallback(self, handler: MediaFallback) -> MediaFallback:
        self.media_fallbacks.append(handler)
        return handler

    def fallback(self, handler: Fallback) -> Fallback:
        """A last try before "not understood" (a referral code, the intents), in the order of the modules built."""
        self.fallbacks.append(handler)
        return handler


def _collect(into: list[tuple[Any, Any]], keys: tuple[Any, ...]) -> Callable[[Any], Any]:
    def collect(handler: Any) -> Any:
        into.extend((key, handler) for key in keys)
        return handler

    return collect


@dataclass(frozen=True)
class ChatRegistry:
    dialogs: Registry[str, DialogSteps]
    actions: Registry[str, Handler]
    commands: Registry[str, Handler]
    steps: Registry[tuple[str, str], StepHandler]
    fallbacks: tuple[Fallback, ...]
    media_steps: frozenset[tuple[str, str]] = frozenset()
    media_fallbacks: tuple[MediaFallback, ...] = ()

    def unhandled_steps(self) -> list[str]:
        """`dialog.step` for each step a dialog can wait at that no handler takes."""
        return [
            f"{dialog.name}.{step}"
            for dialog in self.dialogs.values()
            for step in dialog.steps
            if (dialog.name, step) not in self.steps
        ]


def build_chat(modules: Iterable[ChatListeners]) -> ChatRegistry:
    """One registry of every module's dialogs, actions, commands and steps (DuplicateKey for a key claimed
    twice), with the fallbacks in module order."""
    dialogs: Registry[str, DialogSteps] = Registry("dialog")
    actions: Registry[str, Handler] = Registry("chat action")
    commands: Registry[str, Handler] = Registry("chat command")
    steps: Registry[tuple[str, str], StepHandler] = Registry("dialog step")
    fallbacks: list[Fallback] = []
    media_steps: set[tuple[str, str]] = set()
    media_fallbacks: list[MediaFallback] = []
    for listeners in modules:
        dialogs.add_all((dialog.name, dialog) for dialog in listeners.dialogs)
        actions.add_all(listeners.actions)
        commands.add_all(listeners.commands)
        steps.add_all(listeners.steps)
        fallbacks.extend(listeners.fallbacks)
        media_steps.update(listeners.media_steps)
        media_fallbacks.extend(listeners.media_fallbacks)
    return ChatRegistry(
        dialogs, actions, commands, steps, tuple(fallbacks), frozenset(media_steps), tuple(media_fallbacks)
    )


def normalise(text: str) -> str:
    """Full-width and half-width alike, case and surrounding spaces ignored (ＭＥＮＵ == menu)."""
    return unicodedata.normalize("NFKC", text).strip().lower()


def idle(ctx: Ctx) -> timedelta:
    return timedelta(minutes=ctx.settings.dialog_idle_minutes)


def begin(turn: Turn, ctx: Ctx, dialog: DialogSteps, step: str, **data: object) -> DialogState:
    """Start `dialog` at `step` for this user (replacing any dialog they were in)."""
    return enter(ctx.session.connection(), turn.user_id, dialog.at(step, dict(data)), ctx.now, idle(ctx))


def move(turn: Turn, ctx: Ctx, state: DialogState, step: str, **data: object) -> DialogState:
    """Go on to `step` of the same dialog, keeping what was collected and adding `data`."""
    moved = ctx.handlers.chat.dialogs[state.name].at(step, {**state.data, **data})
    return enter(ctx.session.connection(), turn.user_id, moved, ctx.now, idle(ctx))


def end(turn: Turn, ctx: Ctx) -> None:
    finish(ctx.session.connection(), turn.user_id)


def converse(turn: Turn, ctx: Ctx) -> None:
    """Route one message or tap: while a person has the conversation, free text and media go to staff only (a
    photo sent to a request form the customer opened still files there); otherwise a photo, video or file to the
    open dialog's step that takes it, a command or a known action, then the open dialog's step, then what the
    text means (the intents), then the menu with a hand-off."""
    chat: ChatRegistry = ctx.handlers.chat
    state = current(ctx.session.connection(), turn.user_id, ctx.now)
    command = turn.text is not None and normalise(turn.text) in chat.commands
    if turn.action is None and with_person(turn, ctx, answered=command or state is not None):
        return
    if turn.media is not None:
        return _take_media(chat, turn, state, ctx)
    if command:
        chat.commands[normalise(turn.text)](turn, ctx)
        return
    if turn.text is None and turn.action is None:  # a sticker, a location …
        answer(ctx, turn, "chat.menu")
        return
    answers_dialog = turn.action is None or turn.action in DIALOG_ACTIONS
    if state is not None and answers_dialog and (state.name, state.step) in chat.steps:
        chat.steps[(state.name, state.step)](turn, state, ctx)
        return
    if turn.action is not None:
        handler = chat.actions.get(turn.action)
        if handler is not None:
            handler(turn, ctx)
        elif turn.action in DIALOG_ACTIONS:  # "はい" on a dialog that timed out
            answer(ctx, turn, "chat.dialog_expired")
        return  # a tap we do not know (an old rich menu) is not an error, and not a question
    if turn.text is not None:
        understand(turn, ctx)


def understand(turn: Turn, ctx: Ctx) -> None:
    """A free text no command or dialog step took: the fallbacks (a referral code, the intents), else "not
    understood" with the menu and a person."""
    if not any(fallback(turn, ctx) for fallback in ctx.handlers.chat.fallbacks):
        answer(ctx, turn, "chat.not_understood")


def _take_media(chat: ChatRegistry, turn: Turn, state: DialogState | None, ctx: Ctx) -> None:
    """A photo, video or file: the open dialog's step when it takes them, else whoever recognises it, else the
    menu."""
    if state is not None and (state.name, state.step) in chat.media_steps:
        chat.steps[(state.name, state.step)](turn, state, ctx)
    elif not any(fallback(turn, state, ctx) for fallback in chat.media_fallbacks):
        answer(ctx, turn, "chat.menu")


def with_person(turn: Turn, ctx: Ctx, answered: bool) -> bool:
    """The one gate of a hand-over: a customer message while a person has the conversation is kept for staff
    and passed on; True (the bot stays silent) unless it is a command or answers a dialog the customer opened
    (`answered`: メニュー and the procedures still work). Taps are not messages and never reach here."""
    handover = active_handover(ctx.session.connection(), turn.customer_id)
    if handover is None:
        return False
    message = {
        "message_type": turn.message_type or "text",
        "text": turn.text,
        "line_message_id": turn.message_id,
    }
    listen(ctx, handover, message | {"read_token": turn.read_token}, answered)
    if turn.media is not None and not answered:  # a photo for staff: fetched and sealed as a request's are
        fetch_after_commit(
            ctx.session, [record(ctx.session.connection(), turn.customer_id, turn.media, ctx.now)]
        )
    return not answered


# taps that answer the open dialog rather than start something
DIALOG_ACTIONS = frozenset({"confirm", "change", "cancel_dialog", "skip", "attachments_done"})
