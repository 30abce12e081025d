"""Handler registry: handlers register for event classes like Bolt listeners; the worker asks it who handles what."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.inbound.context import Ctx

Handler = Callable[[Any, Ctx], None]


class DuplicateHandler(ValueError):
    """Two handlers claimed the same event class."""


@dataclass
class HandlerGroup:
    """Handlers of one event family (`follow`, `message`, ...), collected by decorators."""

    name: str
    handlers: dict[type, Handler] = field(default_factory=dict)

    def on(self, *event_classes: type) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            for event_class in event_classes:
                if event_class in self.handlers:
                    raise DuplicateHandler(f"{self.name}: {event_class.__name__} is already handled")
                self.handlers[event_class] = handler
            return handler

        return register


class Router:
    """Resolves an event to its handler by class (most specific first), else to the default handler."""

    def __init__(self, groups: Iterable[HandlerGroup], default: Handler) -> None:
        self._handlers: dict[type, Handler] = {}
        self._default = default
        for group in groups:
            for event_class, handler in group.handlers.items():
                if event_class in self._handlers:
                    raise DuplicateHandler(f"{event_class.__name__} is handled by two groups")
                self._handlers[event_class] = handler

    def resolve(self, event: object) -> Handler:
        for event_class in type(event).__mro__:
            handler = self._handlers.get(event_class)
            if handler is not None:
                return handler
        return self._default

    @property
    def event_classes(self) -> list[type]:
        return list(self._handlers)
