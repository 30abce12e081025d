"""Reading a data file in batches, and reading a large one in a second process while the first one writes.

Parsing a row (NFKC, dates, phone numbers, e-mail addresses, forbidden characters) costs the importing process
about as much as writing it does, and the writing waits on the database most of the time: in a child process the
parsing runs on the other core, one batch ahead. The child sends pickled batches through a pipe; a full pipe
stops it, so memory stays bounded whatever the file's size. A file the child refuses (encoding, headers) raises
the same FileRejected as reading it here would.

For a kind the database writes from a staging table (bot/imports/staged.py) a batch also carries its good rows as
that table's COPY text, made by the reader (the child, for a large file), so the importing process only passes
bytes on; its rows stay pickled until something asks for them (a row refused by the database, a batch written
the general way); and the catalogue entries its rows name that earlier batches did not. Such a batch never
holds the same customer or LINE ID twice: a repeat starts the next one.

Small files are read in this process: starting a Python costs more than their parsing.

    python -m bot.imports.ahead F5 FILE 1000 staged   # what the parent starts; pickled batches on stdout
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.imports.files import SPECS, FileSpec
from bot.imports.reader import FileRejected, Row, read_rows
from bot.imports.stage_text import STAGED, Catalogued

AHEAD_MIN_BYTES = 8 << 20  # about 20,000 rows of F5: below this the child's start-up costs more than it saves
_STARTUP_SECONDS = 60  # for the child's first answer (its imports); then it waits on us, never the reverse


@dataclass
class Batch:
    """Consecutive rows of a file: how many, those the reader refused (with their reasons) and the good ones;
    for a staged kind also the good rows as the staging table's COPY text and the catalogue they name."""

    size: int
    bad: list[Row]
    good_rows: int
    stage: bytes | None
    catalog: list[dict[str, Any]]
    _good: list[Row] | bytes

    def good(self) -> list[Row]:
        """The good rows (unpickled on first use)."""
        if isinstance(self._good, bytes):
            self._good = [Row(*fields) for fields in pickle.loads(self._good)]
        return self._good


def read_batches(path: Path, spec: FileSpec, size: int, staged: bool = False) -> Iterator[Batch]:
    """The file's rows in batches of at most `size`; FileRejected before the first batch when the file cannot be
    read. `staged`: batches for the staging table of the kind (see the module's docstring)."""
    staged = staged and spec.kind in STAGED
    if path.stat().st_size < AHEAD_MIN_BYTES:
        catalogued = Catalogued()
        for rows in _runs(read_rows(path, spec), spec, size, staged):
            yield _batch(spec, rows, staged, catalogued)
    else:
        yield from _from_child(path, spec, size, staged)


def _runs(rows: Iterator[Row], spec: FileSpec, size: int, staged: bool) -> Iterator[list[Row]]:
    unique = STAGED[spec.kind].unique if staged else ()
    run: list[Row] = []
    seen: set[tuple[str, Any]] = set()
    for row in rows:
        if unique and not row.errors:
            keys = {(name, value) for name in unique if (value := row.values.get(name)) is not None}
            if not seen.isdisjoint(keys):
                yield run
                run, seen = [], set()
            seen |= keys
        run.append(row)
        if len(run) == size:
            yield run
            run, seen = [], set()
    if run:
        yield run


def _batch(
    spec: FileSpec, rows: list[Row], staged: bool, catalogued: Catalogued, pickled: bool = False
) -> Batch:
    good = [row for row in rows if not row.errors]
    bad = [row for row in rows if row.errors]
    stage, catalog = STAGED[spec.kind].encode(good) if staged else (None, [])
    catalog = catalogued.fresh(catalog)
    kept: list[Row] | bytes = good
    if pickled:
        kept = pickle.dumps([(r.line, r.values, r.raw, r.errors) for r in good], protocol=5)
    return Batch(len(rows), bad, len(good), stage, catalog, kept)


def _from_child(path: Path, spec: FileSpec, size: int, staged: bool) -> Iterator[Batch]:
    child = subprocess.Popen(
        [sys.executable, "-m", __name__, spec.kind, str(path), str(size), "staged" if staged else "rows"],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    try:
        assert child.stdout is not None
        while True:
            try:
                kind, payload = pickle.load(child.stdout)
            except EOFError:
                code = child.wait(timeout=_STARTUP_SECONDS)
                raise RuntimeError(
                    f"the file reader stopped before the end of the file (exit {code})"
                ) from None
            if kind == "end":
                return
            if kind == "rejected":
                raise FileRejected(payload)
            size_, bad, good_rows, stage, catalog, good = payload
            yield Batch(size_, [Row(*fields) for fields in bad], good_rows, stage, catalog, good)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=_STARTUP_SECONDS)
        if child.stdout:
            child.stdout.close()


def _serve(kind: str, path: Path, size: int, staged: bool) -> None:
    out = sys.stdout.buffer
    spec, catalogued = SPECS[kind], Catalogued()
    try:
        for rows in _runs(read_rows(path, spec), spec, size, staged):
            batch = _batch(spec, rows, staged, catalogued, pickled=True)
            bad = [(r.line, r.values, r.raw, r.errors) for r in batch.bad]
            payload = (batch.size, bad, batch.good_rows, batch.stage, batch.catalog, batch._good)
            pickle.dump(("batch", payload), out, protocol=5)
    except FileRejected as exc:
        pickle.dump(("rejected", str(exc)), out, protocol=5)
    else:
        pickle.dump(("end", None), out, protocol=5)
    out.flush()


if __name__ == "__main__":
    try:
        _serve(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "staged")
    except BrokenPipeError:  # the import stopped reading (it failed or was interrupted): nothing to say
        sys.exit(1)
