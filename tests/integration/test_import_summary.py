"""An import's report says what it did to each table: records new, updated and unchanged, each counted once
however many rows touch it, and the rows rejected."""

from __future__ import annotations

from bot.imports import runner
from tests.integration.test_imports import CHANNELS, PERSON, PRODUCT, f5_row, run, write_csv

LINE_B, LINE_C = "U" + "b" * 32, "U" + "c" * 32
THREE = [
    f5_row(),
    f5_row(顧客ID="C0002", **{"LINE ID": LINE_B, "メールアドレス(メイン)": "b@example.com"}),
    f5_row(顧客ID="C0003", **{"LINE ID": LINE_C, "メールアドレス(メイン)": "c@example.com"}),
]


def tables(report) -> list[str]:
    return report.tally.lines()


def test_a_first_import_counts_every_record_new(runtime, tmp_path):
    """Three customers in: each table says 3 new, the consent history 4 permissions × 3."""
    report = run(runtime, "F5", write_csv(tmp_path / "f5.csv", THREE))
    assert report.lines()[0].endswith("f5.csv: 3 rows, 0 rejected — imported")
    assert tables(report) == [
        "customers: 3 new, 0 updated, 0 unchanged",
        "contact details and permissions: 3 new, 0 updated, 0 unchanged",
        "consent history: 12 new",
        "activity flags: 3 new, 0 updated, 0 unchanged",
        "contract summaries: 3 new, 0 updated, 0 unchanged",
        "product types: 1 new, 0 updated, 0 unchanged",
        "products: 1 new, 0 updated, 0 unchanged",
    ]


def test_reimporting_the_same_file_reports_every_record_unchanged(runtime, tmp_path):
    """The same file again: 0 new, 0 updated, N unchanged in every table, and no consent row added."""
    path = write_csv(tmp_path / "f5.csv", THREE)
    run(runtime, "F5", path)
    report = run(runtime, "F5", path)
    assert report.committed
    assert tables(report) == [
        "customers: 0 new, 0 updated, 3 unchanged",
        "contact details and permissions: 0 new, 0 updated, 3 unchanged",
        "consent history: 0 new",
        "activity flags: 0 new, 0 updated, 3 unchanged",
        "contract summaries: 0 new, 0 updated, 3 unchanged",
        "product types: 0 new, 0 updated, 1 unchanged",
        "products: 0 new, 0 updated, 1 unchanged",
    ]


def test_a_changed_row_is_counted_updated_where_it_changed(runtime, tmp_path):
    """One customer renamed and another's LINE permission withdrawn: 1 updated in each table that changed."""
    run(runtime, "F5", write_csv(tmp_path / "a.csv", THREE))
    changed = [THREE[0], THREE[1] | {"姓": "佐藤"}, THREE[2] | {"LINE配信許可フラグ": "偽"}]
    report = run(runtime, "F5", write_csv(tmp_path / "b.csv", changed))
    assert tables(report)[:5] == [
        "customers: 0 new, 1 updated, 2 unchanged",
        "contact details and permissions: 0 new, 1 updated, 2 unchanged",
        "consent history: 1 new",
        "activity flags: 0 new, 0 updated, 3 unchanged",
        "contract summaries: 0 new, 0 updated, 3 unchanged",
    ]


def test_a_record_many_rows_touch_is_counted_once_across_batches(runtime, tmp_path, monkeypatch):
    """Three document requests of one prospect, one of another, read two rows at a time: 2 new customers and
    4 new requests; the 顧客ID arriving later for the first prospect updates that customer."""
    monkeypatch.setattr(runner, "BATCH_ROWS", 2)
    other = {**CHANNELS, "LINE ID": LINE_B, "メールアドレス(メイン)": "b@example.com", "SMS電話番号": ""}
    rows = [
        {"資料請求ID": f"DR{n}", **CHANNELS, "資料ID": "D01", "資料請求日": "2024-06-10", **PRODUCT, **PERSON}
        for n in (1, 2, 3)
    ] + [{"資料請求ID": "DR4", **other, "資料ID": "D01", "資料請求日": "2024-06-11", **PRODUCT, **PERSON}]
    report = run(runtime, "F1", write_csv(tmp_path / "f1.csv", rows))
    assert tables(report) == [
        "customers: 2 new, 0 updated, 0 unchanged",
        "contact details and permissions: 2 new, 0 updated, 0 unchanged",
        "consent history: 8 new",
        "document requests: 4 new, 0 updated, 0 unchanged",
        "product types: 1 new, 0 updated, 0 unchanged",
        "products: 1 new, 0 updated, 0 unchanged",
        "documents: 1 new, 0 updated, 0 unchanged",
    ]
    promoted = run(runtime, "F5", write_csv(tmp_path / "f5.csv", [f5_row()]))
    assert tables(promoted)[0] == "customers: 0 new, 1 updated, 0 unchanged"


def test_a_record_left_alone_by_one_batch_and_changed_by_a_later_one_is_updated(
    runtime, tmp_path, monkeypatch
):
    """A customer's page views over three batches, the last one with a new 都道府県: that customer is 1 updated,
    not also unchanged."""
    run(runtime, "F5", write_csv(tmp_path / "f5.csv", [f5_row()]))
    monkeypatch.setattr(runner, "BATCH_ROWS", 1)
    view = {
        "webアクセスログID": "WL1",
        **CHANNELS,
        "顧客ID": "C0001",
        "閲覧日時": "2024/08/01 09:30",
        **PERSON,
    }
    views = [
        view,
        view | {"webアクセスログID": "WL2"},
        view | {"webアクセスログID": "WL3", "都道府県": "大阪府"},
    ]
    report = run(runtime, "F4", write_csv(tmp_path / "f4.csv", views))
    assert tables(report)[0] == "customers: 0 new, 1 updated, 0 unchanged"
    assert "page views: 3 new, 0 updated, 0 unchanged" in tables(report)


def test_rejected_rows_are_counted_and_write_nothing(runtime, tmp_path):
    """With --skip-invalid the report counts the rejected rows and only the good rows' records; without it, a
    rejected file reports no table at all, since nothing was written."""
    rows = [*THREE[:2], THREE[2] | {"SMS電話番号": "12345"}]
    path = write_csv(tmp_path / "f5.csv", rows)
    refused = run(runtime, "F5", path)
    assert refused.lines()[0].endswith("f5.csv: 3 rows, 1 rejected — REJECTED, nothing written")
    assert not any("unchanged" in line for line in refused.lines())
    report = run(runtime, "F5", path, skip_invalid=True, rejects_path=tmp_path / "rejects.csv")
    assert report.lines()[0].endswith("f5.csv: 3 rows, 1 rejected — imported")
    assert "  customers: 2 new, 0 updated, 0 unchanged" in report.lines()
