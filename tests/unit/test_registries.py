"""The registries the composition roots build: event routing, the chat's and the admin chat's registries, keys
claimed twice refused, and the start-up check that every button and dialog step has a handler."""

from __future__ import annotations

from dataclasses import replace

import pytest
from linebot.v3.models import UnknownEvent
from linebot.v3.webhooks import FollowEvent, UnfollowEvent

from bot.delivery.buttons import DATETIME, POSTBACK
from bot.inbound.events import MalformedEvent, parse_event
from bot.inbound.router import HandlerGroup, Router
from bot.platform.config import StartupRefused
from bot.platform.registry import DuplicateKey
from handlers import ADMIN, CHAT, GROUPS, build_handlers, unhandled
from handlers.admin import AdminListeners, build_admin
from handlers.admin import broadcast as admin_broadcast
from handlers.conversation import ChatListeners, UnknownStep, build_chat
from handlers.default import acknowledge_unhandled
from handlers.dialogs import email_capture, menu, reservations
from tests import factories


def ignore(*args: object) -> None:
    return None


def without(listeners, attribute: str, key: object):
    """A copy of a module's listeners with one handler taken out."""
    return replace(
        listeners, **{attribute: [entry for entry in getattr(listeners, attribute) if entry[0] != key]}
    )


def swapped(all_listeners: tuple, old, new) -> tuple:
    return tuple(new if listeners is old else listeners for listeners in all_listeners)


def test_an_event_class_claimed_twice_in_a_group_is_refused():
    """A group handling one event class twice cannot be built into a router: no silent override."""
    group = HandlerGroup("g")
    group.on(FollowEvent)(ignore)
    group.on(FollowEvent)(ignore)
    with pytest.raises(DuplicateKey, match="event class FollowEvent is registered twice"):
        Router([group], default=acknowledge_unhandled)


def test_an_event_class_claimed_by_two_groups_is_refused():
    """Two groups claiming one event class cannot be assembled into a router."""
    first, second = HandlerGroup("a"), HandlerGroup("b")
    first.on(UnfollowEvent)(ignore)
    second.on(UnfollowEvent)(ignore)
    with pytest.raises(DuplicateKey):
        Router([first, second], default=acknowledge_unhandled)


def test_unknown_and_malformed_events_go_to_the_default():
    """A new event type and an unmodellable payload both resolve to the default handler."""
    router = build_handlers().events
    unknown = parse_event(factories.base_event("brandNew", factories.user_id()))
    malformed = parse_event({"type": "follow"})
    assert isinstance(unknown, UnknownEvent)
    assert isinstance(malformed, MalformedEvent)
    assert router.resolve(unknown) is acknowledge_unhandled
    assert router.resolve(malformed) is acknowledge_unhandled


def test_known_types_have_their_own_handlers():
    """follow, unfollow, message, postback, accountLink, join/leave, member events, unsend and beacon are routed."""
    router = build_handlers().events
    samples = factories.every_event_type(factories.user_id())
    for event_type in (
        "follow",
        "unfollow",
        "message",
        "postback",
        "accountLink",
        "join",
        "leave",
        "memberJoined",
        "memberLeft",
        "unsend",
        "beacon",
    ):
        assert router.resolve(parse_event(samples[event_type])) is not acknowledge_unhandled, event_type


def test_importing_registers_nothing_so_each_build_is_whole():
    """Each build registers every module afresh (nothing was registered at import): two builds, each complete,
    neither refusing the other's keys."""
    first, second = build_handlers(), build_handlers()
    assert first.chat.actions is not second.chat.actions
    assert list(first.chat.actions) == list(second.chat.actions) and "register_email" in first.chat.actions
    assert [entry.name for entry in second.admin.order][:2] == ["broadcast", "cancel"]


def test_a_chat_action_command_step_or_dialog_claimed_twice_is_refused():
    """Two dialog modules claiming one action, one command word (ＭＥＮＵ is menu), one dialog or one step of it
    are refused when the chat's registry is built."""
    by_action, by_command, by_dialog, by_step = (ChatListeners() for _ in range(4))
    by_action.action("menu")(ignore)
    by_command.command("ＭＥＮＵ")(ignore)
    by_dialog.dialog("email_capture", "ask")
    by_step.step(email_capture.NAME, "ask")(ignore)
    for message, theirs in (
        ("chat action 'menu'", by_action),
        ("chat command 'menu'", by_command),
        ("dialog 'email_capture'", by_dialog),
        (r"dialog step \('email_capture', 'ask'\)", by_step),
    ):
        with pytest.raises(DuplicateKey, match=f"^{message} is registered twice"):
            build_chat([*CHAT, theirs])


def test_an_admin_command_alias_or_button_claimed_twice_is_refused():
    """A second /broadcast, a command whose alias is another's name, or a second handler for an admin button
    (which used to replace the first silently) is refused when the admin registry is built."""
    by_name, by_alias, by_button = AdminListeners(), AdminListeners(), AdminListeners()
    by_name.command("broadcast")(ignore)
    by_alias.command("announce", "配信")(ignore)
    by_button.postback("admin_broadcast_confirm")(ignore)
    for message, theirs in (
        ("admin command 'broadcast'", by_name),
        ("admin command '配信'", by_alias),
        ("admin button 'admin_broadcast_confirm'", by_button),
    ):
        with pytest.raises(DuplicateKey, match=f"^{message} is registered twice"):
            build_admin([*ADMIN, theirs])


def test_a_dialog_goes_only_to_the_steps_it_declares():
    """A step handler or a move to a step the dialog does not declare is refused (a typo shows at once)."""
    listeners = ChatListeners()
    dialog = listeners.dialog("survey", "ask", "confirm")
    with pytest.raises(UnknownStep, match="dialog survey has no step 'comfirm'"):
        listeners.step(dialog, "comfirm")
    with pytest.raises(UnknownStep):
        dialog.at("thanks", {})
    assert dialog.at("confirm", {"answer": 1}).step == "confirm"


def test_every_button_and_dialog_step_has_a_handler():
    """The handlers as shipped answer every postback action a button can carry and every dialog step."""
    handlers = build_handlers()
    assert unhandled(handlers) == []
    assert {"menu", "book", "confirm", "admin_privacy_approve"} <= {*DATETIME, *POSTBACK}


def test_start_up_is_refused_when_a_button_has_no_handler():
    """Without the menu's `menu` action, the date-time picker's `book`, or the admin chat's やめる button, the
    build refuses to start, naming the button."""
    drop = "admin_broadcast_drop"
    for chat, admin, name in (
        (swapped(CHAT, menu.chat, without(menu.chat, "actions", "menu")), ADMIN, "menu"),
        (swapped(CHAT, reservations.chat, without(reservations.chat, "actions", "book")), ADMIN, "book"),
        (
            CHAT,
            swapped(ADMIN, admin_broadcast.admin, without(admin_broadcast.admin, "postbacks", drop)),
            drop,
        ),
    ):
        with pytest.raises(StartupRefused, match=f"^Not starting: nothing answers the button {name}\\. "):
            build_handlers(GROUPS, chat, admin)


def test_start_up_is_refused_when_a_dialog_step_has_no_handler():
    """A dialog declaring a step no handler takes (email capture's confirm) refuses the build, naming it."""
    confirm = ("email_capture", "confirm")
    chat = swapped(CHAT, email_capture.chat, without(email_capture.chat, "steps", confirm))
    with pytest.raises(
        StartupRefused, match="^Not starting: nothing answers the dialog step email_capture.confirm"
    ):
        build_handlers(GROUPS, chat, ADMIN)
