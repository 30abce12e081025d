"""An export written as a CSV file a spreadsheet opens as it is: UTF-8 with a byte-order mark (Excel then reads
the Japanese right) or CP932 for older systems, CRLF line ends, a header row in Japanese.

All or nothing: the file is written beside its destination and moved into place when complete, so a reader never
sees half an export. CP932 cannot hold every character a customer may type (emoji, some kanji variants): such a
file is refused, naming the rows and columns but not their values, and nothing is written; UTF-8 holds them all.
A text value that a spreadsheet would run as a formula (=, +, -, @ first) is written with a leading apostrophe.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from bot.exports.kinds import ExportKind, Shape

TOKYO = ZoneInfo("Asia/Tokyo")
ENCODINGS = {"utf-8": "utf-8-sig", "cp932": "cp932"}  # the option's name → Python's codec
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ROWS_NAMED = 10  # unwritable rows named in the refusal
FETCH_ROWS = 1000


class ExportRefused(ValueError):
    """The export cannot be written as asked; the message says why, without any value of the data. `unwritable`:
    the (data row number, header) of the values the encoding cannot hold, the first ROWS_NAMED of them."""

    def __init__(self, message: str, unwritable: list[tuple[int, str]] | None = None, count: int = 0) -> None:
        super().__init__(message)
        self.unwritable = unwritable or []
        self.count = count


@dataclass
class ExportReport:
    kind: str
    path: Path
    encoding: str
    since: date
    rows: int = 0
    refused_rows: list[tuple[int, str]] = field(default_factory=list)  # (data row number, header)


def since_utc(day: date) -> datetime:
    """The start of `day` in Japan, the insurer's day, in UTC."""
    return datetime.combine(day, time(0), TOKYO).astimezone(UTC)


def write_export(
    connection: Connection, kind: ExportKind, since: date, path: Path, encoding: str = "utf-8"
) -> ExportReport:
    """Write the records of `kind` changed since `since` (a day in Japan) to `path`; ExportRefused, and nothing
    written, when `encoding` cannot hold them."""
    if encoding not in ENCODINGS:
        raise ExportRefused(f"unknown encoding {encoding!r}: choose {', '.join(ENCODINGS)}")
    report = ExportReport(kind.name, path, encoding, since)
    codec = ENCODINGS[encoding]
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with open(handle, "w", encoding=codec, newline="") as out:
            writer = csv.writer(out, lineterminator="\r\n")
            writer.writerow([column.header for column in kind.columns])
            result = connection.execution_options(yield_per=FETCH_ROWS).execute(
                kind.statement(since_utc(since))
            )
            for row in result:
                report.rows += 1
                values = [
                    _spelt(value, column.shape) for value, column in zip(row, kind.columns, strict=True)
                ]
                unwritable = _unwritable(values, codec)
                if unwritable is not None:
                    report.refused_rows.append((report.rows, kind.columns[unwritable].header))
                    continue
                if not report.refused_rows:
                    writer.writerow(values)
        if report.refused_rows:
            raise ExportRefused(_refusal(report), report.refused_rows[:ROWS_NAMED], len(report.refused_rows))
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return report


def _unwritable(values: list[str], codec: str) -> int | None:
    """The index of the first value `codec` cannot write, or None."""
    if codec != "cp932":
        return None
    for index, value in enumerate(values):
        try:
            value.encode(codec)
        except UnicodeEncodeError:
            return index
    return None


def _refusal(report: ExportReport) -> str:
    named = ", ".join(f"row {row} ({header})" for row, header in report.refused_rows[:ROWS_NAMED])
    more = len(report.refused_rows) - ROWS_NAMED
    tail = f" and {more} more" if more > 0 else ""
    return (
        f"{len(report.refused_rows)} of {report.rows} rows hold characters CP932 cannot write: {named}{tail}."
        " Export as UTF-8 (the default) instead; nothing was written"
    )


def _spelt(value: Any, shape: Shape) -> str:
    """A value as the file spells it."""
    if value is None:
        return ""
    if shape is Shape.TIME:
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M:%S")
    if shape is Shape.DATE:
        return value.isoformat()
    if shape is Shape.FLAG:
        return "真" if value else "偽"
    if shape is Shape.NUMBER:
        return f"{value:g}" if isinstance(value, float) else str(value)
    if shape is Shape.JSON:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=str)
    else:
        text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def parse_day(given: str) -> date:
    """A --since day as the operator types it: 2026-12-01 or 2026/12/01."""
    try:
        return date.fromisoformat(given.replace("/", "-"))
    except ValueError:
        raise ExportRefused(f"not a day: {given!r} (write it as 2026-12-01)") from None
