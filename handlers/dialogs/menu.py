"""The chat's front door: the greeting on friend-add, the menu, and the hand-off to staff."""

from __future__ import annotations

from bot.chat.answers import Turn, answer
from bot.inbound.context import Ctx
from bot.staff.handovers import hand_to_person
from handlers.conversation import ChatListeners, end

chat = ChatListeners()


def greet(turn: Turn, ctx: Ctx, returning: bool) -> None:
    """Friend-add: a Japanese greeting with the menu as quick replies (welcome back after an unblock)."""
    answer(ctx, turn, "chat.welcome_back" if returning else "chat.greeting")


@chat.command("メニュー", "menu", "めにゅー")
@chat.action("menu")
def show_menu(turn: Turn, ctx: Ctx) -> None:
    """The menu, which also ends any open dialog."""
    end(turn, ctx)
    answer(ctx, turn, "chat.menu")


@chat.command("担当者", "オペレーター", "staff", "operator")
@chat.action("handoff", "contact")
def hand_off(turn: Turn, ctx: Ctx) -> None:
    """The customer asks for a person (or takes the bot's offer, `v=` its reason): a hand-over with a 受付番号,
    the bot silent until staff give it back; staff of the customer's store are told, the customer when."""
    end(turn, ctx)
    hand_to_person(turn, ctx, turn.value or "asked")
