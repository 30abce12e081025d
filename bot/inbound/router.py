"""Handler routing: handlers say which event classes they take like Bolt listeners; the composition root builds
the router the worker asks who handles what."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.inbound.context import Ctx
from bot.platform.registry import Registry

Handler = Callable[[Any, Ctx], None]


@dataclass
class HandlerGroup:
    """Handlers of one event family (`follow`, `message`, ...), collected by decorators; importing a module
    registers nothing: a Router takes the groups it is built with."""

    name: str
    handlers: list[tuple[type, Handler]] = field(default_factory=list)

    def on(self, *event_classes: type) -> Callable[[Handler], Handler]:
        def collect(handler: Handler) -> Handler:
            self.handlers.extend((event_class, handler) for event_class in event_classes)
            return handler

        return collect


class Router:
    """Resolves an event to its handler by class (most specific first), else to the default handler. An event
    class claimed twice, in one group or across two, is refused (DuplicateKey)."""

    def __init__(self, groups: Iterable[HandlerGroup], default: Handler) -> None:
        self._handlers: Registry[type, Handler] = Registry("event class")
        self._default = default
        for group in groups:
            self._handlers.add_all(group.handlers)

    def resolve(self, event: object) -> Handler:
        for event_class in type(event).__mro__:
            handler = self._handlers.get(event_class)
            if handler is not None:
                return handler
        return self._default
