"""The chat as dialogs: what a text or a tap means, given where the user is.

Dialog modules (handlers/dialogs/) register on `chat` like Bolt listeners:
- `@chat.action("register_email")`: a postback `a=register_email` (a button in a message or a menu);
- `@chat.command("メール登録", "email")`: a text that starts something whatever dialog is open (it interrupts
  that dialog cleanly: the old state is replaced);
- `@chat.step("email_capture", "ask")`: the next text or tap of a user whose dialog waits at that step.

Anything else gets the FAQ's answer when one matches, and otherwise the menu with a hand-off to staff: never
silence. Dialog state lives in the database (bot/chat/dialog_state.py) and times out after DIALOG_IDLE_MINUTES.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from bot.chat.answers import Turn, answer
from bot.chat.dialog_state import DialogState, current, enter, finish
from bot.inbound.context import Ctx

Handler = Callable[[Turn, Ctx], None]
StepHandler = Callable[[Turn, DialogState, Ctx], None]


class DuplicateChatHandler(ValueError):
    pass


@dataclass
class ChatRegistry:
    actions: dict[str, Handler] = field(default_factory=dict)
    commands: dict[str, Handler] = field(default_factory=dict)
    steps: dict[tuple[str, str], StepHandler] = field(default_factory=dict)
    fallbacks: list[Callable[[Turn, Ctx], bool]] = field(default_factory=list)

    def action(self, *names: str) -> Callable[[Handler], Handler]:
        return self._register(self.actions, names)

    def command(self, *words: str) -> Callable[[Handler], Handler]:
        return self._register(self.commands, tuple(normalise(word) for word in words))

    def step(self, dialog: str, step: str) -> Callable[[StepHandler], StepHandler]:
        def register(handler: StepHandler) -> StepHandler:
            if (dialog, step) in self.steps:
                raise DuplicateChatHandler(f"dialog {dialog} step {step} is handled twice")
            self.steps[(dialog, step)] = handler
            return handler

        return register

    def fallback(self, handler: Callable[[Turn, Ctx], bool]) -> Callable[[Turn, Ctx], bool]:
        """A last try before "not understood" (the FAQ): returns True when it answered."""
        self.fallbacks.append(handler)
        return handler

    @staticmethod
    def _register(table: dict[str, Handler], keys: tuple[str, ...]) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            for key in keys:
                if key in table:
                    raise DuplicateChatHandler(f"{key!r} is handled twice")
                table[key] = handler
            return handler

        return register


chat = ChatRegistry()


def normalise(text: str) -> str:
    """Full-width and half-width alike, case and surrounding spaces ignored (ＭＥＮＵ == menu)."""
    return unicodedata.normalize("NFKC", text).strip().lower()


def idle(ctx: Ctx) -> timedelta:
    return timedelta(minutes=ctx.settings.dialog_idle_minutes)


def begin(turn: Turn, ctx: Ctx, name: str, step: str, **data: object) -> DialogState:
    """Start dialog `name` at `step` for this user (replacing any dialog they were in)."""
    return enter(
        ctx.session.connection(), turn.user_id, DialogState(name, step, dict(data)), ctx.now, idle(ctx)
    )


def move(turn: Turn, ctx: Ctx, state: DialogState, step: str, **data: object) -> DialogState:
    """Go on to `step`, keeping what was collected and adding `data`."""
    moved = DialogState(state.name, step, {**state.data, **data})
    return enter(ctx.session.connection(), turn.user_id, moved, ctx.now, idle(ctx))


def end(turn: Turn, ctx: Ctx) -> None:
    finish(ctx.session.connection(), turn.user_id)


def converse(turn: Turn, ctx: Ctx) -> None:
    """Route one text or tap: a command or a known action first, then the open dialog's step, then the FAQ,
    then the menu with a hand-off."""
    connection = ctx.session.connection()
    state = current(connection, turn.user_id, ctx.now)
    if turn.text is not None and normalise(turn.text) in chat.commands:
        chat.commands[normalise(turn.text)](turn, ctx)
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
    if turn.text is not None and any(fallback(turn, ctx) for fallback in chat.fallbacks):
        return
    answer(ctx, turn, "chat.not_understood")


# taps that answer the open dialog rather than start something
DIALOG_ACTIONS = frozenset({"confirm", "change", "cancel_dialog", "skip"})
