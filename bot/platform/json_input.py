"""Reading JSON that arrives from outside (LINE's webhook, the events API, SMS callbacks, the simulator).

Python's parser recurses once per nested array or object: `[[[[…]]]]` 100,000 deep raises RecursionError,
which is not a ValueError, so every caller's "not JSON → 400" missed it and answered 500. A document is also
refused past MAX_DEPTH levels, so that nothing after parsing (re-serialising, schema checks) recurses into it.
"""

from __future__ import annotations

import json
from typing import Any

from flask.json.provider import DefaultJSONProvider

MAX_DEPTH = 64  # a LINE event is 5 levels deep, an events API batch 4


class TooDeep(ValueError):
    """The document nests deeper than MAX_DEPTH: refused like any body that is not JSON."""

    def __init__(self) -> None:
        super().__init__(f"nested deeper than {MAX_DEPTH} levels")


def read_json(data: str | bytes, **options: Any) -> Any:
    """`json.loads(data, **options)`, raising ValueError (TooDeep, JSONDecodeError, UnicodeDecodeError) for
    anything that is not a JSON document of at most MAX_DEPTH levels."""
    try:
        document = json.loads(data, **options)
    except RecursionError:
        raise TooDeep from None
    if _deeper_than(document, MAX_DEPTH):
        raise TooDeep
    return document


def _deeper_than(document: Any, limit: int) -> bool:
    level: list[Any] = [document]
    for _ in range(limit):
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node if isinstance(node, list) else ())
            if isinstance(child, dict | list)
        ]
        if not level:
            return False
    return True


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON with the same limit, so `request.get_json()` answers 400 (or None when silent)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return read_json(s, **kwargs)
