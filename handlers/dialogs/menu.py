"""The chat's front door: the greeting on friend-add, the menu, and the hand-off to staff."""

from __future__ import annotations

from datetime import timedelta

from bot.chat.answers import Turn, answer
from bot.inbound.context import Ctx
from bot.staff.desk import notify_staff
from handlers.conversation import ChatListeners, end

chat = ChatListeners()
HANDOFF_REPEAT = timedelta(minutes=30)  # staff are told once, however often the customer taps in that time


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
    """The customer asks for a person: staff are told in the admin chat (service desk), the customer when."""
    end(turn, ctx)
    answer(ctx, turn, "chat.handoff")
    notify_staff(ctx, "handoff", turn.customer_id, "chat_desk.staff_handoff", repeat_after=HANDOFF_REPEAT)
