"""What the reader of a file to be written from a staging table (bot/imports/staged.py) prepares, a batch ahead and
in the reading process: the good rows as the staging table's COPY text, and the catalogue entries they name that
earlier batches did not. Names only: the reading process needs neither the models nor SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.imports.fields import (
    ACTIVITY_FIELDS,
    CATALOGUE,
    CHANNEL_FIELDS,
    CONTRACT_FIELDS,
    PERSON_FIELDS,
    PRODUCTS,
    TYPES,
)
from bot.imports.reader import Row

# The staging table's columns after `line`, with the table whose column gives each its type.
F5_COLUMNS: tuple[tuple[str, str], ...] = (
    ("customer_code", "customers"),
    *((name, "customers") for name in PERSON_FIELDS),
    *((name, "customer_channels") for name in CHANNEL_FIELDS),
    *((name, "customer_activity") for name in ACTIVITY_FIELDS),
    *((name, "contract_summaries") for name in CONTRACT_FIELDS),
)
F5_NAMES = tuple(name for name, _ in F5_COLUMNS)
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _text(value: Any) -> str:
    """A value as COPY's text format writes it."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


@dataclass(frozen=True)
class Staging:
    unique: tuple[str, ...]  # values no two rows of a batch may share
    encode: Callable[[list[Row]], tuple[bytes, list[dict[str, Any]]]]  # good rows → (COPY text, catalogue)


def _encode_f5(rows: list[Row]) -> tuple[bytes, list[dict[str, Any]]]:
    lines = []
    for row in rows:
        get = row.values.get
        lines.append("\t".join([str(row.line), *(_text(get(name)) for name in F5_NAMES)]))
    lines.append("")
    return "\n".join(lines).encode(), catalog_values([row.values for row in rows])


STAGED = {"F5": Staging(("customer_code", "line_user_id"), _encode_f5)}


FIELDS = frozenset(
    name for entry in (*TYPES, *PRODUCTS, *((code, name) for _, code, name in CATALOGUE)) for name in entry
)  # every value of a row the catalogue reads


def catalog_values(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows reduced to what `write_catalog` reads, each distinct one once at its last place: the catalogue
    written from these is the one written from all the rows (a later row's name still wins)."""
    last: dict[tuple, dict[str, Any]] = {}
    for values in rows:
        named = {name: value for name, value in values.items() if name in FIELDS}
        if named:
            key = tuple(sorted(named.items()))
            last.pop(key, None)
            last[key] = named
    return list(last.values())


class Catalogued:
    """What the earlier batches of one file gave the catalogue, code by code. An entry that would change none of
    it is left out of the next batch's: writing it would leave the rows as they are, and the report counts a
    code once whatever the number of batches naming it. Every batch is assumed written (one that is not makes
    the whole import roll back)."""

    def __init__(self) -> None:
        self.given: dict[tuple[str, Any], dict[str, Any]] = {}

    def fresh(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The entries (in order) that name a catalogue row the batch changes, every one that names it (so that
        they merge as they would all together); the batch's values are remembered as `write_catalog` merges
        them (column by column, then row by row)."""
        named = list(_named(entries))
        changed = {key for key, values, _ in named if self._changes(key, values)}
        kept = {index for key, _, index in named if key in changed}
        for key, values, _ in named:
            self.given.setdefault(key, {}).update((f, v) for f, v in values.items() if v is not None)
        return [entry for index, entry in enumerate(entries) if index in kept]

    def _changes(self, key: tuple[str, Any], values: dict[str, Any]) -> bool:
        given = self.given.get(key)
        return given is None or any(v is not None and given.get(f) != v for f, v in values.items())


def _named(entries: list[dict[str, Any]]) -> Iterator[tuple[tuple[str, Any], dict[str, Any], int]]:
    """((table, code), values, the entry's index) of each catalogue row the entries name, in the order
    `write_catalog` writes (and merges) them."""
    for code, name in TYPES:
        for index, entry in enumerate(entries):
            if entry.get(code):
                yield ("product_types", entry[code]), {"name": entry.get(name)}, index
    for code, name, type_code in PRODUCTS:
        for index, entry in enumerate(entries):
            if entry.get(code):
                values = {"name": entry.get(name), "product_type_code": entry.get(type_code)}
                yield ("products", entry[code]), values, index
    for table, code, name in CATALOGUE:
        for index, entry in enumerate(entries):
            if entry.get(code):
                yield (table, entry[code]), {"name": entry.get(name)}, index
