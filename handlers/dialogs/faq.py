"""Frequently asked questions (よくある質問) in the chat: payment methods, how to claim, a new bank account,
contract status, a forgotten customer number, business hours …

Entries live in locales/messages/chat_faq.<locale>.yml (a title, the answer). A question typed anywhere reaches
its topic through the intent matcher (handlers/dialogs/intents.py: each topic is an intent, its phrasings in
chat_intents.*.yml); `faq` lists the topics by number (a tap with `faq_value` opens one topic), and at that list
a number picks one while any other text is read as free text.
"""

from __future__ import annotations

from functools import cache

from bot.chat.answers import Turn, answer, chat_locale, choice_labels
from bot.chat.dialog_state import DialogState
from bot.inbound.context import Ctx
from bot.platform.i18n import message_document, text
from handlers.conversation import ChatListeners, begin, end, normalise, understand

chat = ChatListeners()
NAME = chat.dialog("faq", "topic")
GROUP = "chat_faq"


@cache
def topics() -> tuple[str, ...]:
    """The FAQ's topics in the order of the Japanese file."""
    return tuple(message_document("ja")["messages"].get(GROUP, {}))


def reply(turn: Turn, ctx: Ctx, topic: str) -> None:
    answer(ctx, turn, f"{GROUP}.{topic}", accident_phone=ctx.settings.accident_phone)


@chat.command("よくある質問", "よくあるご質問", "faq", "質問")
@chat.action("faq")
def show_topics(turn: Turn, ctx: Ctx) -> None:
    """A topic's answer for a tap that names it; otherwise the topics by number, and the next text picks one."""
    if turn.value in topics():
        end(turn, ctx)
        return reply(turn, ctx, str(turn.value))
    locale = chat_locale(ctx, turn)
    lines = [
        f"{number}. {text(f'messages.{GROUP}.{topic}.title', locale)}"
        for number, topic in enumerate(topics(), 1)
    ]
    begin(turn, ctx, NAME, "topic")
    answer(ctx, turn, "chat_desk.faq_list", details="\n".join(lines), **choice_labels(lines))


@chat.step(NAME, "topic")
def pick_topic(turn: Turn, state: DialogState, ctx: Ctx) -> None:
    """A number from the list, or a question in the customer's words (read like any free text)."""
    end(turn, ctx)
    if turn.text is None:  # a tap of confirm / change / cancel: the list is closed
        answer(ctx, turn, "chat.menu")
        return
    said = normalise(turn.text)
    if said.isdigit() and 1 <= int(said) <= len(topics()):
        reply(turn, ctx, topics()[int(said) - 1])
        return
    understand(turn, ctx)
