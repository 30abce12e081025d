"""The one registry type for everything the bot looks up by key: LINE event classes, the chat's actions, commands
and dialog steps, the admin chat's commands and taps.

A composition root (app.py, worker.py) fills registries once, before the process takes work; a key claimed twice
is refused there, so a second handler never silently replaces the first.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class DuplicateKey(ValueError):
    """Two handlers claimed one key."""


class Registry(Generic[K, V]):
    """Keys to handlers, in the order they were added; `kind` names the keys in errors ("chat action")."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[K, V] = {}

    def add(self, key: K, value: V) -> None:
        if key in self._entries:
            raise DuplicateKey(f"{self.kind} {_named(key)} is registered twice")
        self._entries[key] = value

    def add_all(self, entries: Iterable[tuple[K, V]]) -> None:
        for key, value in entries:
            self.add(key, value)

    def get(self, key: K) -> V | None:
        return self._entries.get(key)

    def __getitem__(self, key: K) -> V:
        return self._entries[key]

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __iter__(self) -> Iterator[K]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def values(self) -> list[V]:
        return list(self._entries.values())


def _named(key: object) -> str:
    return key.__name__ if isinstance(key, type) else repr(key)
