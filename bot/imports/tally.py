"""What one import did to each table: how many records it created, changed and left as they were.

A record that several rows of a file touch (a customer with three document requests) is counted once: new if
the import created it, updated if it existed and the import changed it, unchanged otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table

from bot.platform.bulk import Upserted, upsert, upsert_reporting

# The tables an import writes, in the order the summary shows them, with the words an operator reads.
LABELS = {
    "customers": "customers",
    "customer_channels": "contact details and permissions",
    "consent_events": "consent history",
    "customer_activity": "activity flags",
    "contract_summaries": "contract summaries",
    "document_requests": "document requests",
    "quotes": "quotes",
    "reservations": "reservations",
    "page_views": "page views",
    "campaign_benefits": "campaign benefits",
    "line_memberships": "LINE memberships",
    "product_types": "product types",
    "products": "products",
    "documents": "documents",
    "stores": "stores",
    "staff": "staff",
    "campaigns": "campaigns",
}
HISTORY = frozenset({"consent_events"})  # only ever added to: the summary gives how many rows were added


class Identities:
    """A set of record identities: a bitmap for integer ids (dense, so a million cost 125 kB), a set for codes."""

    __slots__ = ("bits", "codes", "size")

    def __init__(self) -> None:
        self.bits = bytearray()
        self.codes: set[Any] = set()
        self.size = 0

    def add(self, identity: Any) -> None:
        self.update((identity,))

    def update(self, identities: Iterable[Any]) -> None:
        """`add` each (the same, in one loop: an import adds millions)."""
        bits, codes, added = self.bits, self.codes, 0
        for identity in identities:
            if type(identity) is int and identity >= 0:
                index = identity >> 3
                if index >= len(bits):
                    bits.extend(bytes(index + 1 - len(bits) + len(bits) // 2))
                mask = 1 << (identity & 7)
                if not bits[index] & mask:
                    bits[index] |= mask
                    added += 1
            elif identity not in codes:
                codes.add(identity)
                added += 1
        self.size += added

    def __contains__(self, identity: Any) -> bool:
        if type(identity) is int and identity >= 0:
            index = identity >> 3
            return index < len(self.bits) and bool(self.bits[index] & (1 << (identity & 7)))
        return identity in self.codes

    def __len__(self) -> int:
        return self.size


@dataclass(frozen=True)
class Counts:
    new: int
    updated: int
    unchanged: int


class _TableTally:
    __slots__ = ("added", "changed", "new", "seen")

    def __init__(self) -> None:
        self.seen, self.new, self.changed = Identities(), Identities(), Identities()
        self.added = 0  # history rows: only ever added

    def counts(self) -> Counts:
        new, updated = len(self.new) + self.added, len(self.changed)
        return Counts(new, updated, len(self.seen) - len(self.new) - updated)


class Tally:
    """Per table, the records one import created, changed and left alone."""

    def __init__(self) -> None:
        self._tables: dict[str, _TableTally] = {}
        self.contradicted: dict[str, int] = {}  # {F5 column: rows whose 偽 the customer's records contradict}

    def record(self, table: str, done: Upserted) -> None:
        if done.inserted or done.updated or done.unchanged:  # a table the batch had nothing for is not shown
            self.note(table, new=done.inserted, updated=done.updated, unchanged=done.unchanged)

    def note(
        self,
        table: str,
        *,
        new: Iterable[Any] = (),
        updated: Iterable[Any] = (),
        unchanged: Iterable[Any] = (),
    ) -> None:
        """The identities of records this batch created, changed and left alone; a record counted by an earlier
        batch keeps its first standing (new stays new) unless it is changed now."""
        tally = self._tables.setdefault(table, _TableTally())
        new, updated = list(new), list(updated)
        tally.new.update(new)
        tally.changed.update([identity for identity in updated if identity not in tally.new])
        for identities in (new, updated, unchanged):
            tally.seen.update(identities)

    def added(self, table: str, count: int) -> None:
        """Rows added to a history table, which are never updated."""
        self._tables.setdefault(table, _TableTally()).added += count

    def counts(self) -> dict[str, Counts]:
        return {name: self._tables[name].counts() for name in LABELS if name in self._tables}

    def contradict(self, counts: dict[str, int]) -> None:
        """Add a batch's counts {F5 column: rows}: every column, zeros too, in one order, which the report keeps."""
        for column, count in counts.items():
            self.contradicted[column] = self.contradicted.get(column, 0) + count

    def lines(self) -> list[str]:
        """One line per table, e.g. `customers: 0 new, 1 updated, 199 unchanged`; then each F5 flag the
        customers' own records contradict."""
        tables = [
            f"{LABELS[name]}: {c.new} new"
            if name in HISTORY
            else f"{LABELS[name]}: {c.new} new, {c.updated} updated, {c.unchanged} unchanged"
            for name, c in self.counts().items()
        ]
        return tables + [
            f"{column}: {count} rows say 偽 but the customer's records say otherwise (counted as 真)"
            for column, count in self.contradicted.items()
            if count
        ]


def upsert_counted(
    connection: Connection,
    tally: Tally | None,
    table: Table,
    rows: Iterable[dict[str, Any]],
    keys: Sequence[str],
    now: datetime | None,
    identity: str | None = None,
) -> None:
    """`upsert`, counted in `tally` when there is one (a file import; the events API writes without counting,
    which spares it the look-up that tells new from updated)."""
    if tally is None:
        upsert(connection, table, rows, keys, now)
    else:
        tally.record(table.name, upsert_reporting(connection, table, rows, keys, now, identity=identity))
