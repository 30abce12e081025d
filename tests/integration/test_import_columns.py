"""What a data file must carry and how it may be separated: an address comes with its permission flag, and a
file is comma- or tab-separated; anything else is refused whole with a message that says why."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session

from bot.imports.files import SPECS
from bot.imports.reader import FileRejected
from models import Customer, CustomerChannels, PageView
from tests.integration.test_imports import CHANNELS, LINE_A, f5_row, run, snapshot, write_csv


def without(row: dict[str, str], *columns: str) -> dict[str, str]:
    return {name: value for name, value in row.items() if name not in columns}


@pytest.mark.parametrize(
    ("kind", "row", "dropped", "reason"),
    [
        ("F5", f5_row(), ["LINE配信許可フラグ"], "LINE配信許可フラグ (the permission for LINE ID)"),
        ("F5", f5_row(), ["SMS配信許可フラグ"], "SMS配信許可フラグ (the permission for SMS電話番号)"),
        ("F5", f5_row(), ["アプリpush配信フラグ"], "アプリpush配信フラグ (the permission for FCMトークン)"),
        (
            "F5",
            f5_row(),
            ["メルマガ許可フラグ"],
            "メルマガ許可フラグ (the permission for メールアドレス(メイン), メールアドレス(サブ))",
        ),
        (
            "F2",
            {"見積ID": "QT1", **CHANNELS, "見積日": "2024/07/01"},
            ["SMS配信許可フラグ"],
            "SMS配信許可フラグ (the permission for SMS電話番号)",
        ),
        (
            "F7",
            {"LINE ID": LINE_A, "顧客ID": "C0001", "LINE ID連携フラグ": "偽"},
            [],
            "LINE配信許可フラグ (the permission for LINE ID)",
        ),
    ],
)
def test_an_address_column_without_its_permission_flag_refuses_the_file(
    runtime, tmp_path, kind, row, dropped, reason
):
    """A file with an address column but not that channel's permission flag is refused, naming the flag and
    the address it belongs to; nothing is written."""
    path = write_csv(tmp_path / "file.csv", [without(row, *dropped)])
    with pytest.raises(FileRejected, match=rf"missing required columns: .*{re.escape(reason)}"):
        run(runtime, kind, path)
    assert all(rows == [] for rows in snapshot(runtime).values())


def test_the_cli_names_the_missing_permission_column(app, runtime, tmp_path):
    """`flask import` fails with the missing column's name and says nothing was written."""
    path = write_csv(tmp_path / "f5.csv", [without(f5_row(), "LINE配信許可フラグ")])
    result = app.test_cli_runner().invoke(args=["import", "F5", str(path)])
    assert result.exit_code == 1
    assert "LINE配信許可フラグ (the permission for LINE ID)" in result.output
    assert "nothing was written" in result.output
    assert all(rows == [] for rows in snapshot(runtime).values())


def test_a_file_without_addresses_needs_no_permission_flags(runtime, tmp_path):
    """Only the key is always required: a file of names alone imports."""
    report = run(runtime, "F5", write_csv(tmp_path / "f5.csv", [{"顧客ID": "C1", "姓": "山田"}]))
    assert report.committed
    assert [spec.required for spec in SPECS.values()] == [
        ("資料請求ID",),
        ("見積ID",),
        ("来店予約ID",),
        ("webアクセスログID",),
        ("顧客ID",),
        ("顧客ID‐キャンペーンID", "顧客ID", "キャンペーンID"),
        ("LINE ID", "LINE配信許可フラグ"),
    ]


def write_tsv(path: Path, rows: list[dict[str, str]], encoding: str = "utf-8") -> Path:
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter="\t")
        writer.writeheader()
        writer.writerows(rows)
    return path


F4_ROW = {
    "webアクセスログID": "WL1",
    **CHANNELS,
    "顧客ID": "C0001",
    "ページタイトル": "保険料, 見積もり\t比較",  # a comma and a tab inside a cell
    "ページURL": "https://www.example-insurance.jp/quote",
    "閲覧日時": "2024/08/01 09:30:00",
}


@pytest.mark.parametrize("encoding", ["utf-8", "cp932", "utf-16"])
def test_a_tab_separated_file_is_read_like_csv(runtime, tmp_path, encoding):
    """A tab-separated file (Excel's タブ区切り, or its UTF-16 "Unicode text") imports exactly as the same rows
    as CSV: cells keep their commas, and a quoted cell its tab."""
    report = run(runtime, "F4", write_tsv(tmp_path / "f4.txt", [F4_ROW], encoding))
    assert report.committed and report.rejected == 0, report.lines()
    as_tsv = snapshot(runtime)
    with Session(runtime.engine) as session:
        view = session.execute(select(PageView)).scalar_one()
        channels = session.execute(select(CustomerChannels)).scalar_one()
    assert view.page_title == "保険料, 見積もり\t比較"
    assert (channels.line_user_id, channels.sms_phone) == (LINE_A, "+819012345678")
    again = run(runtime, "F4", write_csv(tmp_path / "f4.csv", [F4_ROW]))
    assert again.committed and snapshot(runtime) == as_tsv  # the CSV of the same rows changes nothing


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("顧客ID;姓;名\nC1;山田;太郎\n", "the columns are separated by semicolons (;)"),
        ("顧客ID|姓\nC1|山田\n", "the columns are separated by vertical bars (|)"),
        ("顧客ID,姓\t名\nC1,山田\t太郎\n", "the header row has both commas and tabs"),
    ],
)
def test_a_file_with_another_separator_is_refused_saying_so(runtime, tmp_path, header, reason):
    """Columns separated by anything but commas or tabs refuse the file with a message naming the separator."""
    path = tmp_path / "f5.csv"
    path.write_text(header, encoding="utf-8")
    with pytest.raises(FileRejected, match=re.escape(reason)):
        run(runtime, "F5", path)
    with Session(runtime.engine) as session:
        assert session.execute(select(Customer)).all() == []
