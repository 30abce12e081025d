"""On PostgreSQL a 基本シナリオ配信用データ (F5) file is written from one staging table (bot/imports/staged.py). It
must leave every table, and say in its report, exactly what the general writer does: the same imports run both
ways on two fresh databases, at the same frozen time, and the databases and reports are compared whole.

The files exercise what the staging path handles itself (new customers, changes, a permission flipped or left
blank, a LINE ID another customer holds, the same customer twice in a file) and what it hands to the general
writer (a new 顧客ID whose contact details a prospect from a 資料請求 file already has).
"""

from __future__ import annotations

import csv
import re
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select, text
from sqlmodel import SQLModel

from bot.imports import staged as staged_module
from bot.imports.files import find_spec
from bot.imports.runner import import_file
from bot.imports.staged import ImportCollided
from bot.platform.db import make_engine
from devtools.sample_data import write_csv as write_sample
from models import ConsentEvent, Customer
from tests.conftest import fresh_postgres_database

START = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
TRUE, FALSE = "真", "偽"


def _rows(path: Path) -> list[list[str]]:
    return list(csv.reader(path.read_text(encoding="utf-8").splitlines()))


def _write(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def _changed(first: Path, path: Path) -> Path:
    """The first F5 file a month later: contracts renewed, permissions flipped and withdrawn, names changed and left blank, the
    same customer twice (next to each other and far apart), a LINE ID another customer holds, two new customers
    giving one new LINE ID, and new customers."""
    rows = _rows(first)
    header, body = rows[0], rows[1:]
    at = {name: header.index(name) for name in header}
    for index, row in enumerate(body):
        if index % 3 == 0:
            row[at["メルマガ許可フラグ"]] = FALSE if row[at["メルマガ許可フラグ"]] == TRUE else TRUE
        if index % 5 == 1:
            row[at["SMS配信許可フラグ"]] = ""  # not given: the stored permission stays
        if index % 7 == 2:
            row[at["姓"]] = "変更"
        if index % 11 == 3:
            row[at["名"]] = ""
        if index % 13 == 5:  # the product renamed on some rows: the name goes back and forth between batches
            row[at["現在契約中の商品名"]] += "（新）"
        if index % 17 == 6:  # a flag the customer's own contact details contradict
            row[at["メールアドレス取得フラグ"]] = FALSE
        if index % 4 == 0:  # renewed today: closes the customer's open requests made before
            row[at["契約フラグ"]], row[at["前回契約更新日"]] = TRUE, date.today().strftime("%Y/%m/%d")
    twice = list(body[10])
    twice[at["LINE配信許可フラグ"]] = FALSE if twice[at["LINE配信許可フラグ"]] == TRUE else TRUE
    body.insert(11, twice)  # the same customer on the next line, with another LINE permission
    body.append(list(body[40]))  # ... and one far away, as it was
    holder = next(row[at["LINE ID"]] for row in body[100:] if row[at["LINE ID"]])
    taker = next(row for row in body[20:] if row[at["LINE ID"]] != holder)
    taker[at["LINE ID"]] = holder  # another customer's LINE ID: refused
    for number in (1, 2, 3):
        new = list(body[5])
        new[at["顧客ID"]] = f"N{number:07d}"
        new[at["メールアドレス(メイン)"]] = f"new{number}@example.org"
        new[at["SMS電話番号"]] = ""
        new[at["LINE ID"]] = "U" + "e" * 32 if number < 3 else ""  # the first takes it, the second is refused
        # flags their own row contradicts (a customer made by the import has no other records)
        new[at["メールアドレス取得フラグ"]] = FALSE
        new[at["LINEID 利用フラグ"]] = FALSE
        body.append(new)
    return _write(path, [header, *body])


def _snapshot(engine) -> dict[str, list[tuple]]:
    """Every table's rows, with serial ids replaced by their rank: the same records made in the same order
    compare equal whatever numbers the sequences handed out (an upsert that finds its row still uses one)."""
    with engine.connect() as connection:
        raw = {
            table: [tuple(row) for row in connection.execute(table.select().order_by(*table.primary_key))]
            for table in SQLModel.metadata.sorted_tables
            if table.name != "data_changes"  # only says "look again" to the triggers, stamped by every import
        }
    ranks = {
        table.name: {row[0]: rank for rank, row in enumerate(rows)}
        for table, rows in raw.items()
        if "id" in table.c and table.c.keys()[0] == "id"
    }
    canonical = {}
    for table, rows in raw.items():
        names = table.c.keys()
        mapped = []
        for row in rows:
            values = list(row)
            for index, name in enumerate(names):
                if name == "id" and table.name in ranks:
                    values[index] = ranks[table.name][values[index]]
                elif name == "customer_id" and values[index] is not None:
                    values[index] = ranks["customers"].get(values[index], values[index])
            mapped.append(tuple(values))
        canonical[table.name] = sorted(mapped, key=repr)
    return canonical


def _run(url: str, staged: bool, steps, monkeypatch) -> list[tuple[list[str], dict]]:
    engine = make_engine(url)
    results = []
    try:
        for number, (kind, path, options) in enumerate(steps):
            now = START + timedelta(days=30 * number)
            monkeypatch.setattr("bot.imports.runner.utcnow", lambda now=now: now)
            report = import_file(engine, find_spec(kind), path, staged=staged, **options)
            results.append((report.lines(), _snapshot(engine)))
    finally:
        engine.dispose()
    return results


def test_the_staged_writer_leaves_what_the_general_writer_leaves(tmp_path, monkeypatch):
    monkeypatch.setattr("bot.imports.runner.BATCH_ROWS", 40)
    write_sample("F1", tmp_path / "F1.csv", 150, seed=21, customers=120)  # prospects of the first 120
    write_sample("F1", tmp_path / "F1-more.csv", 200, seed=22, customers=260)
    first = tmp_path / "F5.csv"
    write_sample("F5", first, 260, seed=21)
    changed = _changed(first, tmp_path / "F5-changed.csv")
    rejects = tmp_path / "rejects.csv"
    steps = [
        ("F1", tmp_path / "F1.csv", {}),
        ("F5", first, {}),
        ("F1", tmp_path / "F1-more.csv", {}),  # more requests, of customers known by now
        ("F5", changed, {"skip_invalid": True, "rejects_path": rejects}),
        ("F5", first, {}),
        ("F5", first, {}),
    ]
    batches = {"staged": 0, "general": 0}  # F5 batches written each way
    write_batch, write_catalog = staged_module.write_batch, staged_module.write_catalog

    def generally(connection, kind, *args, **kwargs):
        batches["general"] += kind == "F5"
        return write_batch(connection, kind, *args, **kwargs)

    def staging(*args, **kwargs):  # the staged path writes a batch's catalogue, the general one its own way
        batches["staged"] += 1
        return write_catalog(*args, **kwargs)

    monkeypatch.setattr("bot.imports.staged.write_batch", generally)
    monkeypatch.setattr("bot.imports.staged.write_catalog", staging)
    with fresh_postgres_database() as general_url, fresh_postgres_database() as staged_url:
        general = _run(general_url, False, steps, monkeypatch)
        assert batches["staged"] == 0 and batches["general"] > 0
        batches["general"] = 0
        rejected_generally = rejects.read_text(encoding="utf-8-sig")
        staged = _run(staged_url, True, steps, monkeypatch)
    for step, ((general_lines, general_tables), (staged_lines, staged_tables)) in enumerate(
        zip(general, staged, strict=True)
    ):
        assert staged_lines == general_lines, f"step {step}"
        for table, rows in general_tables.items():
            assert staged_tables[table] == rows, f"step {step}: {table}"
    assert rejects.read_text(encoding="utf-8-sig") == rejected_generally
    # What the files were meant to exercise did happen: most batches were staged, those meeting a prospect went
    # the general way, prospects became customers, a LINE ID was refused and permissions changed.
    assert batches["staged"] > 2 * batches["general"] > 0
    code = SQLModel.metadata.tables["customers"].columns.keys().index("customer_code")
    prospects = {row[0] for row in general[0][1]["customers"] if row[code] is None}  # ids are ranks here
    promoted = {row[0] for row in general[1][1]["customers"] if row[0] in prospects and row[code] is not None}
    assert prospects and promoted
    changes = "\n".join(general[3][0])
    assert "LINE ID: already belongs to another customer" in changes
    assert "consent history: 0 new" not in changes
    assert re.search(r"document requests: 0 new, [1-9]\d* updated", changes), changes
    # flags contradicted by known customers' records and by new customers' own rows: N1 and N3 gave an email
    # address and LINE ID 偽 with a LINE ID (N2's was refused)
    emails = re.search(r"メールアドレス取得フラグ: (\d+) rows say 偽", changes)
    lines = re.search(r"LINEID 利用フラグ: (\d+) rows say 偽", changes)
    assert emails and int(emails[1]) > 3 and lines and int(lines[1]) >= 1, changes


def test_an_import_that_meets_another_making_the_same_customer_writes_nothing_and_says_so(tmp_path):
    """New customers are written with a plain insert: when another transaction makes one of the file's new
    顧客IDs first, the import waits for it, then fails with a clear error and leaves nothing of its own."""
    path = tmp_path / "F5.csv"
    write_sample("F5", path, 30, seed=5)
    code = _rows(path)[12][_rows(path)[0].index("顧客ID")]
    with fresh_postgres_database() as url:
        engine = make_engine(url)
        try:
            other = engine.connect()
            other.begin()
            other.execute(  # another import's transaction, not yet committed, made the same customer
                text(
                    "INSERT INTO customers (customer_code, created_at, updated_at) VALUES (:code, now(), now())"
                ),
                {"code": code},
            )
            outcome: list[object] = []

            def importing() -> None:
                try:
                    outcome.append(import_file(engine, find_spec("F5"), path, staged=True))
                except Exception as exc:  # noqa: BLE001 -- the test looks at what it was
                    outcome.append(exc)

            worker = threading.Thread(target=importing)
            worker.start()
            worker.join(timeout=1.0)
            assert worker.is_alive() and not outcome  # waiting on the other transaction's new row
            other.commit()
            other.close()
            worker.join(timeout=30)
            assert len(outcome) == 1 and isinstance(outcome[0], ImportCollided), outcome
            assert "顧客ID" in str(outcome[0]) and code not in str(outcome[0])
            with engine.connect() as connection:
                assert connection.execute(select(func.count()).select_from(Customer)).scalar_one() == 1
                assert connection.execute(select(func.count()).select_from(ConsentEvent)).scalar_one() == 0
            # once the other one has committed, the same file imports, the known customer updated
            report = import_file(engine, find_spec("F5"), path, staged=True)
            assert report.committed and "  customers: 29 new, 1 updated, 0 unchanged" in report.lines()
        finally:
            engine.dispose()
