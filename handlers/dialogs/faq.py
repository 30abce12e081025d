"""Frequently asked questions (よくある質問) in the chat: payment methods, how to claim, a new bank account,
contract status, a forgotten customer number, business hours …

Entries live in locales/messages/chat_faq.<locale>.yml (a title, keywords, the answer). A text that contains an
entry's keywords gets its answer wherever no dialog is waiting; `faq` lists the topics by number (a tap with
`faq_value` opens one topic). A text no entry matches falls through to "not understood" (menu and a person).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from bot.chat.answers import Turn, answer, chat_locale, choice_labels
from bot.chat.dialog_state import DialogState
from bot.inbound.context import Ctx
from bot.platform.i18n import SUPPORTED, message_document, text
from handlers.conversation import ChatListeners, begin, end, normalise

chat = ChatListeners()
NAME = chat.dialog("faq", "topic")
GROUP = "chat_faq"


@dataclass(frozen=True)
class Entry:
    topic: str
    keywords: frozenset[str]  # normalised, in every language: an English question finds its topic too


@cache
def entries() -> tuple[Entry, ...]:
    """The FAQ's topics in the order of the Japanese file."""
    documents = [message_document(locale)["messages"].get(GROUP, {}) for locale in SUPPORTED]
    return tuple(
        Entry(
            topic,
            frozenset(normalise(k) for doc in documents for k in doc.get(topic, {}).get("keywords", ())),
        )
        for topic in documents[0]
    )


def match(question: str) -> str | None:
    """The topic whose keywords cover most of the text (the longest matches), or None."""
    said = normalise(question)
    best, score = None, 0
    for entry in entries():
        found = sum(len(k) for k in entry.keywords if k and k in said)
        if found > score:
            best, score = entry.topic, found
    return best


def reply(turn: Turn, ctx: Ctx, topic: str) -> None:
    answer(ctx, turn, f"{GROUP}.{topic}", accident_phone=ctx.settings.accident_phone)


@chat.command("よくある質問", "よくあるご質問", "faq", "質問")
@chat.action("faq")
def show_topics(turn: Turn, ctx: Ctx) -> None:
    """A topic's answer for a tap that names it; otherwise the topics by number, and the next text picks one."""
    topics = [entry.topic for entry in entries()]
    if turn.value in topics:
        end(turn, ctx)
        return reply(turn, ctx, str(turn.value))
    locale = chat_locale(ctx, turn)
    lines = [
        f"{number}. {text(f'messages.{GROUP}.{topic}.title', locale)}"
        for number, topic in enumerate(topics, 1)
    ]
    begin(turn, ctx, NAME, "topic")
    answer(ctx, turn, "chat_desk.faq_list", details="\n".join(lines), **choice_labels(lines))


@chat.step(NAME, "topic")
def pick_topic(turn: Turn, state: DialogState, ctx: Ctx) -> None:
    """A number from the list, or a question in the customer's words."""
    end(turn, ctx)
    if turn.text is None:  # a tap of confirm / change / cancel: the list is closed
        answer(ctx, turn, "chat.menu")
        return
    topics = [entry.topic for entry in entries()]
    said = normalise(turn.text)
    topic = topics[int(said) - 1] if said.isdigit() and 1 <= int(said) <= len(topics) else match(turn.text)
    if topic is None:
        answer(ctx, turn, "chat.not_understood")
        return
    reply(turn, ctx, topic)


@chat.fallback
def answer_from_faq(turn: Turn, ctx: Ctx) -> bool:
    """A free text that matches an entry's keywords gets its answer."""
    topic = match(turn.text or "")
    if topic is None:
        return False
    reply(turn, ctx, topic)
    return True
