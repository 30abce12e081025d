"""The customer's language in the chat: 「English」 or 「日本語」 switches at once, 「language」/「言語」 (or the menu's
button) asks which. Every later message to the customer — answers, scenarios, notices — is in that language."""

from __future__ import annotations

from bot.chat.answers import Turn, answer
from bot.chat.richmenus import switch_after_commit
from bot.customers.language import set_language
from bot.inbound.context import Ctx
from handlers.conversation import ChatListeners, end

chat = ChatListeners()


@chat.command("language", "言語", "げんご", "言語設定")
@chat.action("language")
def choose_language(turn: Turn, ctx: Ctx) -> None:
    """Which language: both offered as quick replies."""
    end(turn, ctx)
    answer(ctx, turn, "chat_language.choose")


@chat.command("English", "英語", "えいご", "in English")
@chat.action("use_english")
def use_english(turn: Turn, ctx: Ctx) -> None:
    """From now on in English (this answer already is)."""
    _switch(turn, ctx, "en")


@chat.command("日本語", "にほんご", "Japanese", "in Japanese")
@chat.action("use_japanese")
def use_japanese(turn: Turn, ctx: Ctx) -> None:
    """From now on in Japanese (this answer already is)."""
    _switch(turn, ctx, "ja")


def _switch(turn: Turn, ctx: Ctx, language: str) -> None:
    end(turn, ctx)
    set_language(ctx.session.connection(), turn.customer_id, language)
    switch_after_commit(ctx.session, turn.customer_id)  # the menu in the new language
    answer(ctx, turn, "chat_language.changed")
