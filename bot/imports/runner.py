"""One import of one data file: all or nothing by default, or the good rows with a rejects file.

The file is read once, in batches (a large file by a second process, one batch ahead: bot.imports.ahead), inside
a single transaction: a file with any bad row writes nothing
(unless `skip_invalid`), and a crash half-way leaves the database as it was. Each consent change it writes
keeps the file's name, SHA-256 and line as evidence (特定電子メール法); the file is hashed before it is read.
The report counts, per table, the records the import created, changed and left as they were.
"""

from __future__ import annotations

import csv
import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

from sqlalchemy import Engine
from tqdm import tqdm

from bot.delivery.consent import Evidence
from bot.imports.ahead import Batch, read_batches
from bot.imports.files import FileSpec
from bot.imports.reader import Row
from bot.imports.staged import write_staged
from bot.imports.tally import Tally
from models import utcnow

BATCH_ROWS = 1000
REPORTED_ERRORS = 1000


@dataclass
class ImportReport:
    kind: str
    path: str
    rows: int = 0
    imported: int = 0  # rows written (0 when nothing was committed)
    rejected: int = 0
    errors: list[tuple[int, list[str]]] = field(default_factory=list)  # first REPORTED_ERRORS only
    committed: bool = False
    rejects_path: str | None = None
    sha256: str | None = None  # of the file as imported: the consent history's evidence
    tally: Tally = field(default_factory=Tally)  # what was written, per table (meaningless unless committed)
    seconds: float = 0.0  # from reading the file to the commit (or the rollback)

    def lines(self) -> list[str]:
        status = "imported" if self.committed else "REJECTED, nothing written"
        rows = f"{self.rows} row" + ("" if self.rows == 1 else "s")
        head = [f"{self.kind} {self.path}: {rows}, {self.rejected} rejected — {status}"]
        if self.committed:
            head += [f"  {line}" for line in self.tally.lines()]
        if self.committed and self.sha256:
            head.append(f"  SHA-256 {self.sha256} (kept with each consent change as evidence)")
        details = [f"  line {line}: {'; '.join(errors)}" for line, errors in self.errors]
        more = self.rejected - len(self.errors)
        tail = [f"  … and {more} more rejected rows"] if more > 0 else []
        saved = (
            [f"rejected rows written to {self.rejects_path}"] if self.rejects_path and self.rejected else []
        )
        return head + details + tail + saved


class _Rollback(Exception):
    pass


def import_file(
    engine: Engine,
    spec: FileSpec,
    path: Path,
    *,
    skip_invalid: bool = False,
    rejects_path: Path | None = None,
    progress: bool = False,
    staged: bool | None = None,
) -> ImportReport:
    """Import `path` as `spec`; FileRejected (encoding, headers) propagates before anything is written.
    `staged`: write a kind that has one from a staging table (bot/imports/staged.py; by default on PostgreSQL)."""
    started = time.perf_counter()
    report = ImportReport(spec.kind, str(path), sha256=file_sha256(path))
    evidence = Evidence(file=path.name, sha256=report.sha256)
    staged = engine.dialect.name == "postgresql" if staged is None else staged
    batches = read_batches(path, spec, BATCH_ROWS, staged)
    first = next(batches, None)  # headers and encoding are checked before the transaction starts
    now, source = utcnow(), f"import:{spec.kind}"
    rejects = _RejectsFile(rejects_path) if skip_invalid and rejects_path else None
    try:
        with engine.begin() as connection:
            for batch in _progress(chain([first] if first else [], batches), progress, spec):
                report.rows += batch.size
                refused: list[Row] = []
                if batch.good_rows and (skip_invalid or not report.rejected):
                    refused = write_staged(connection, spec.kind, batch, now, source, evidence, report.tally)
                bad = sorted(batch.bad + refused, key=lambda row: row.line)
                report.rejected += len(bad)
                report.imported += batch.size - len(bad)
                _note(report, bad, rejects)
            if report.rejected and not skip_invalid:
                raise _Rollback
            report.committed = True
    except _Rollback:
        report.imported = 0
    finally:
        if rejects:
            rejects.close()
            report.rejects_path = str(rejects_path)
        report.seconds = time.perf_counter() - started
    return report


def file_sha256(path: Path) -> str:
    """The file's SHA-256 (hex), read in chunks: what an auditor recomputes from the file the insurer kept."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _progress(batches: Iterator[Batch], enabled: bool, spec: FileSpec) -> Iterator[Batch]:
    with tqdm(desc=f"{spec.kind} rows", unit=" rows", disable=not enabled, mininterval=0.5) as bar:
        for batch in batches:
            yield batch
            bar.update(batch.size)


def _note(report: ImportReport, bad: list[Row], rejects: _RejectsFile | None) -> None:
    for row in bad:
        if len(report.errors) < REPORTED_ERRORS:
            report.errors.append((row.line, row.errors))
        if rejects:
            rejects.write(row)


class _RejectsFile:
    """The rejected rows as they were, with their line number and reasons, for fixing and re-importing."""

    def __init__(self, path: Path) -> None:
        self.handle = open(path, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115 -- closed by close()
        self.writer = csv.writer(self.handle)
        self.writer.writerow(["line", "reasons", "row"])

    def write(self, row: Row) -> None:
        self.writer.writerow([row.line, " / ".join(row.errors), *row.raw])

    def close(self) -> None:
        self.handle.close()
