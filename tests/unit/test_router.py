"""The handler registry: registration, resolution, duplicates and the default."""

from __future__ import annotations

import pytest
from linebot.v3.models import UnknownEvent
from linebot.v3.webhooks import FollowEvent, UnfollowEvent

from bot.inbound.events import MalformedEvent, parse_event
from bot.inbound.router import DuplicateHandler, HandlerGroup, Router
from handlers import build_router
from handlers.default import acknowledge_unhandled
from tests import factories


def test_duplicate_registration_in_a_group_raises():
    """Registering a second handler for the same event class is an error, not a silent override."""
    group = HandlerGroup("g")
    group.on(FollowEvent)(lambda event, ctx: None)
    with pytest.raises(DuplicateHandler):
        group.on(FollowEvent)(lambda event, ctx: None)


def test_duplicate_across_groups_raises():
    """Two groups claiming one event class cannot be assembled into a router."""
    first, second = HandlerGroup("a"), HandlerGroup("b")
    first.on(UnfollowEvent)(lambda event, ctx: None)
    second.on(UnfollowEvent)(lambda event, ctx: None)
    with pytest.raises(DuplicateHandler):
        Router([first, second], default=acknowledge_unhandled)


def test_unknown_and_malformed_events_go_to_the_default():
    """A new event type and an unmodellable payload both resolve to the default handler."""
    router = build_router()
    unknown = parse_event(factories.base_event("brandNew", factories.user_id()))
    malformed = parse_event({"type": "follow"})
    assert isinstance(unknown, UnknownEvent)
    assert isinstance(malformed, MalformedEvent)
    assert router.resolve(unknown) is acknowledge_unhandled
    assert router.resolve(malformed) is acknowledge_unhandled


def test_known_types_have_their_own_handlers():
    """follow, unfollow, message, postback, accountLink, join/leave, member events, unsend and beacon are routed."""
    router = build_router()
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
