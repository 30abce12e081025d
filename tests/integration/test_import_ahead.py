"""A large file is parsed by a second process, one batch ahead of the writing: the same rows, the same rejections,
the same report as reading it in the importing process."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bot.imports import ahead
from bot.imports.files import find_spec
from bot.imports.reader import FileRejected
from bot.imports.runner import import_file
from devtools.sample_data import write_csv as write_sample
from tests.integration.test_imports import snapshot

EVERY_FILE = 0  # AHEAD_MIN_BYTES that sends every file, however small, to the second process
NO_FILE = 10**12


def run(runtime, kind: str, path: Path, threshold: int, monkeypatch, **options):
    monkeypatch.setattr(ahead, "AHEAD_MIN_BYTES", threshold)
    return import_file(runtime.engine, find_spec(kind), path, **options)


def test_reading_ahead_writes_what_reading_here_writes(runtime, tmp_path, monkeypatch):
    """F5 then F1 through the second process (several batches each), then again read here: nothing changes."""
    monkeypatch.setattr("bot.imports.runner.BATCH_ROWS", 70)
    for kind in ("F5", "F1"):
        write_sample(kind, tmp_path / f"{kind}.csv", 300, seed=11, customers=250)
    reports = [run(runtime, kind, tmp_path / f"{kind}.csv", EVERY_FILE, monkeypatch) for kind in ("F5", "F1")]
    assert all(r.committed and r.rows == 300 and r.rejected == 0 for r in reports), reports[0].lines()[:5]
    written = snapshot(runtime)
    assert len(written["customers"]) >= 250
    again = [run(runtime, kind, tmp_path / f"{kind}.csv", NO_FILE, monkeypatch) for kind in ("F5", "F1")]
    assert all(r.committed and r.rows == 300 for r in again)
    assert snapshot(runtime) == written


def _with_bad_rows(tmp_path: Path) -> Path:
    path = tmp_path / "F5.csv"
    write_sample("F5", path, 40, seed=12)
    rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    phone = rows[0].index("SMS電話番号")
    rows[5][phone] = "12345"
    rows[30][phone] = "not a phone"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


@pytest.mark.parametrize("skip_invalid", [False, True])
def test_bad_rows_are_reported_alike(runtime, tmp_path, monkeypatch, skip_invalid):
    """Bad rows found by the second process reject the file (or go to the rejects file) with the same lines and
    reasons, and the rejects file holds the rows as they were."""
    monkeypatch.setattr("bot.imports.runner.BATCH_ROWS", 16)
    path = _with_bad_rows(tmp_path)
    reports = {}
    for name, threshold in (("here", NO_FILE), ("ahead", EVERY_FILE)):
        rejects = tmp_path / f"rejects-{name}.csv"
        reports[name] = run(
            runtime, "F5", path, threshold, monkeypatch, skip_invalid=skip_invalid, rejects_path=rejects
        )
        if skip_invalid:
            assert rejects.read_text(encoding="utf-8-sig").count("\n") == 3  # header and the two rows
    here, there = reports["here"], reports["ahead"]
    assert there.rejected == here.rejected == 2
    assert there.errors == here.errors and [line for line, _ in there.errors] == [6, 31]
    assert there.committed is here.committed is skip_invalid
    if skip_invalid:
        saved = (tmp_path / "rejects-ahead.csv").read_text(encoding="utf-8-sig")
        assert saved == (tmp_path / "rejects-here.csv").read_text(encoding="utf-8-sig")
        assert "not a phone" in saved


@pytest.mark.parametrize(
    "content, reason",
    [
        ("顧客ID,好きな色\nC1,x\n".encode(), "unknown columns: 好きな色"),
        (b"", "empty"),
        # past the first megabyte the encoding was told from: found while the rows before it are being written
        ("顧客ID,姓\nC1,山田\nC2,".encode() + "山".encode() * 400_000 + b"\nC3,\xff\n", "not valid"),
    ],
)
def test_a_refused_file_is_refused_alike(runtime, tmp_path, monkeypatch, content, reason):
    """The second process's FileRejected (headers, encoding) reaches the caller with its reason, before or during
    the import, and nothing is written."""
    path = tmp_path / "f5.csv"
    path.write_bytes(content)
    with pytest.raises(FileRejected, match=reason):
        run(runtime, "F5", path, EVERY_FILE, monkeypatch)
    assert all(rows == [] for rows in snapshot(runtime).values())


def test_the_second_process_stops_when_the_import_does(tmp_path, monkeypatch):
    """An import that stops after its first batch (a failure, an interrupt) leaves no reader behind."""
    monkeypatch.setattr(ahead, "AHEAD_MIN_BYTES", EVERY_FILE)
    path = tmp_path / "F5.csv"
    write_sample("F5", path, 400, seed=13)
    started = []
    popen = ahead.subprocess.Popen

    def start(*args, **kwargs):
        started.append(popen(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(ahead.subprocess, "Popen", start)
    batches = ahead.read_batches(path, find_spec("F5"), 10)
    assert next(batches).size == 10
    batches.close()  # what a failed or interrupted import does to the generator
    assert started[0].poll() is not None  # stopped, and waited for
