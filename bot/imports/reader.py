"""Reading a data file: encoding (UTF-8, UTF-8 with BOM, CP932 from Excel, or UTF-16 with BOM from Excel's
"Unicode text"), separator (comma or tab), headers, and typed rows.

The separator is told from the header row: no column name holds a comma or a tab, so a header with tabs and no
comma is a tab-separated file (Excel's テキスト (タブ区切り) export) and anything else is CSV. Rows are streamed:
memory stays bounded whatever the file's size.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import IO, Any

from bot.imports.files import Column, FileSpec
from bot.imports.values import normalise
from bot.platform.characters import forbidden_character

SNIFF_BYTES = 1 << 20
OTHER_SEPARATORS = {";": "semicolons", "|": "vertical bars"}


class FileRejected(ValueError):
    """The file as a whole cannot be imported (encoding, headers); nothing was written."""


@dataclass
class Row:
    line: int  # line number in the file (the header is line 1)
    values: dict[str, Any]
    raw: list[str]
    errors: list[str] = field(default_factory=list)


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) when the start of the file decodes as UTF-8, UTF-16 when it starts with its
    BOM, else CP932 (Shift_JIS, Excel)."""
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=False)  # a multi-byte character cut at the end is fine
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        head.decode("cp932")
    except UnicodeDecodeError:
        # a CP932 double-byte character cut at the end of the sample is fine; anything else is not text
        try:
            head[:-1].decode("cp932")
        except UnicodeDecodeError:
            raise FileRejected("the file is neither UTF-8 nor CP932 (Shift_JIS) text") from None
    return "cp932"


def _header_key(name: str) -> str:
    return normalise(name).replace(" ", "").lower()


def map_headers(spec: FileSpec, header: list[str]) -> list[Column | None]:
    """The column for each header cell, by Japanese name or English alias; unknown or missing ones reject."""
    lookup: dict[str, Column] = {}
    for column in spec.columns:
        lookup[_header_key(column.ja)] = column
        lookup[_header_key(column.alias)] = column
    mapped, unknown, seen = [], [], set[str]()
    for name in header:
        column = lookup.get(_header_key(name))
        if column is None and name.strip():
            unknown.append(name)
        if column is not None and column.ja in seen:
            raise FileRejected(f"column {column.ja} appears twice")
        if column is not None:
            seen.add(column.ja)
        mapped.append(column)
    missing = spec.missing(seen)
    problems = []
    if unknown:
        problems.append("unknown columns: " + ", ".join(unknown))
    if missing:
        problems.append("missing required columns: " + ", ".join(missing))
    if problems:
        raise FileRejected(f"{spec.kind} ({spec.title}): " + "; ".join(problems))
    return mapped


def read_rows(path: Path, spec: FileSpec) -> Iterator[Row]:
    """Typed rows of the file; a row's `errors` lists what is wrong with it (with the column's name)."""
    encoding = detect_encoding(path)
    with open(path, encoding=encoding, newline="", errors="strict") as handle:
        yield from _rows(handle, spec)


def separator(header_line: str) -> str:
    """A tab when the header row has tabs and no comma, else a comma; other separators are refused by name."""
    tabs, commas = "\t" in header_line, "," in header_line
    if tabs and commas:
        raise FileRejected(
            "the header row has both commas and tabs: separate the columns with commas (CSV) or with tabs"
            " (tab-separated), not both"
        )
    if tabs:
        return "\t"
    other = next((mark for mark in OTHER_SEPARATORS if mark in header_line), None)
    if other and not commas:
        raise FileRejected(
            f"the columns are separated by {OTHER_SEPARATORS[other]} ({other}): save the file as CSV (commas)"
            " or as tab-separated text"
        )
    return ","


def _rows(handle: IO[str], spec: FileSpec) -> Iterator[Row]:
    try:
        first = handle.readline()
    except UnicodeDecodeError:
        raise FileRejected("the file has bytes that are not valid in its encoding") from None
    if not first:
        raise FileRejected("the file is empty (no header row)")
    if not first.strip():
        raise FileRejected("the first line is blank: the header row must be the first line")
    reader = csv.reader(chain([first], handle), delimiter=separator(first))
    header = next(reader)
    stored = _stored_cells(map_headers(spec, header))
    width = len(header)
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            row = _typed(reader.line_num, cells, stored, width)
            _check(spec, row)
            yield row
    except UnicodeDecodeError:
        raise FileRejected(
            f"line {reader.line_num + 1}: bytes that are not valid in the file's encoding"
        ) from None
    except csv.Error as exc:
        raise FileRejected(f"line {reader.line_num}: broken CSV ({exc})") from None


_Stored = tuple[int, str, str, Callable[[str], object], bool]  # cell index, field, header, parser, required


def _stored_cells(columns: list[Column | None]) -> list[_Stored]:
    """The cells that are stored, in order; derived and unknown-but-blank columns are skipped once, here."""
    return [
        (index, column.field, column.ja, column.parse, column.required)
        for index, column in enumerate(columns)
        if column is not None and column.field is not None
    ]


def _typed(line: int, cells: list[str], stored: list[_Stored], width: int) -> Row:
    row = Row(line, {}, cells)
    if len(cells) != width:
        row.errors.append(f"{len(cells)} cells where the header has {width}")
        return row
    values = row.values
    # One search over the whole row (the hot path); the cell is looked for only when the row holds one.
    suspect = forbidden_character(" ".join(cells)) is not None
    for index, name, header, parse, required in stored:
        value = cells[index].strip()
        if suspect and (found := forbidden_character(cells[index])):
            row.errors.append(f"{header}: must not contain {found}")
            continue
        if not value:
            if required:
                row.errors.append(f"{header}: required")
            continue
        try:
            values[name] = parse(value)
        except ValueError as exc:
            row.errors.append(f"{header}: {exc}")
    return row


def _check(spec: FileSpec, row: Row) -> None:
    """Rules across columns of one row."""
    values = row.values
    if (
        spec.kind == "F6"
        and values.get("benefit_code")
        and values.get("customer_code")
        and values.get("campaign_code")
    ):
        key = values["benefit_code"]
        if not (key.startswith(values["customer_code"]) and key.endswith(values["campaign_code"])):
            row.errors.append("顧客ID‐キャンペーンID: does not combine this row's 顧客ID and キャンペーンID")


def rows_from_text(text: str, spec: FileSpec) -> Iterator[Row]:
    """The same from a string (the API and tests)."""
    yield from _rows(io.StringIO(text), spec)
