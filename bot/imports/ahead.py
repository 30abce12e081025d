"""Reading a large data file in a second process while the first one writes.

Parsing a row (NFKC, dates, phone numbers, e-mail addresses, forbidden characters) costs the importing process
about as much as writing it does, and the writing waits on the database most of the time: in a child process the
parsing runs on the other core, one batch ahead. The child sends pickled batches through a pipe; a full pipe
stops it, so memory stays bounded whatever the file's size. A file the child refuses (encoding, headers) raises
the same FileRejected as reading it here would.

Small files are read in this process: starting a Python costs more than their parsing.

    python -m bot.imports.ahead F5 FILE 1000      # what the parent starts; pickled batches on stdout
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

from bot.imports.files import SPECS, FileSpec
from bot.imports.reader import FileRejected, Row, read_rows

AHEAD_MIN_BYTES = 8 << 20  # about 20,000 rows of F5: below this the child's start-up costs more than it saves
_STARTUP_SECONDS = 60  # for the child's first answer (its imports); then it waits on us, never the reverse


def read_batches(path: Path, spec: FileSpec, size: int) -> Iterator[list[Row]]:
    """The file's rows in batches of `size`; FileRejected before the first batch when the file cannot be read."""
    if path.stat().st_size < AHEAD_MIN_BYTES:
        yield from _batches(read_rows(path, spec), size)
    else:
        yield from _from_child(path, spec, size)


def _batches(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    while batch := list(islice(rows, size)):
        yield batch


def _from_child(path: Path, spec: FileSpec, size: int) -> Iterator[list[Row]]:
    child = subprocess.Popen(
        [sys.executable, "-m", __name__, spec.kind, str(path), str(size)],
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
            yield [Row(line, values, raw, errors) for line, values, raw, errors in payload]
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=_STARTUP_SECONDS)
        if child.stdout:
            child.stdout.close()


def _serve(kind: str, path: Path, size: int) -> None:
    out = sys.stdout.buffer
    try:
        for batch in _batches(read_rows(path, SPECS[kind]), size):
            pickle.dump(("rows", [(r.line, r.values, r.raw, r.errors) for r in batch]), out, protocol=5)
    except FileRejected as exc:
        pickle.dump(("rejected", str(exc)), out, protocol=5)
    else:
        pickle.dump(("end", None), out, protocol=5)
    out.flush()


if __name__ == "__main__":
    try:
        _serve(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]))
    except BrokenPipeError:  # the import stopped reading (it failed or was interrupted): nothing to say
        sys.exit(1)
