"""Importing the data files F1–F7: Japanese headers into the models, whole-file rejection, idempotent re-import."""

from __future__ import annotations

import csv
import hashlib
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session, SQLModel

from bot.imports.files import SPECS, find_spec
from bot.imports.reader import FileRejected
from bot.imports.runner import import_file
from models import (
    CampaignBenefit,
    ConsentEvent,
    ContractSummary,
    Customer,
    CustomerActivity,
    CustomerChannels,
    DocumentRequest,
    LineMembership,
    PageView,
    ProductType,
    Quote,
    Reservation,
)

LINE_A = "U" + "a" * 32
LINE_B = "U" + "b" * 32
CHANNELS = {
    "メールアドレス(メイン)": "taro.yamada@example.com",
    "メールアドレス(サブ)": "",
    "メルマガ許可フラグ": "真",
    "LINE ID": LINE_A,
    "LINE配信許可フラグ": "真",
    "SMS電話番号": "090-1234-5678",
    "SMS配信許可フラグ": "偽",
    "FCMトークン": "fcm-token-1",
    "アプリpush配信フラグ": "偽",
}
PERSON = {"性別": "男性", "年代": "40代", "都道府県": "神奈川県", "姓": "山田", "名": "太郎"}
PRODUCT = {"商品種別ID": "PT03", "商品種別": "自動車保険", "商品ID": "P031", "商品名": "ネット自動車保険"}


def write_csv(path: Path, rows: list[dict[str, str]], encoding: str = "utf-8") -> Path:
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def run(runtime, kind: str, path: Path, **options):
    return import_file(runtime.engine, find_spec(kind), path, **options)


def one(runtime, model):
    with Session(runtime.engine) as session:
        return session.execute(select(model)).scalar_one()


def snapshot(runtime) -> dict[str, list[tuple]]:
    with runtime.engine.connect() as connection:
        return {
            table.name: sorted(map(tuple, connection.execute(table.select())), key=repr)
            for table in SQLModel.metadata.sorted_tables
            # data_changes only says "look again" to the scenario triggers; it is stamped by every import
            if table.name not in ("webhook_events", "line_users", "data_changes")
        }


def f5_row(**changes: str) -> dict[str, str]:
    row = {
        "顧客ID": "C0001",
        **CHANNELS,
        **PERSON,
        "資料請求フラグ": "真",
        "初回資料請求日": "2024/04/01",
        "見積フラグ": "偽",
        "生命保険契約フラグ": "偽",
        "損害保険契約フラグ": "真",
        "現在契約中の商品種別名": "自動車保険",
        "来店フラグ": "偽",
        "契約フラグ": "真",
        "契約ステータス": "契約中",
        "初回契約開始日": "2024年5月1日",
        "初回契約開始からの経過日数": "999",
        "次回契約更新日": "2025/05/01",
        "現在契約中の商品種別ID": "PT03",
        "現在契約中の商品ID": "P031",
        "現在契約中の商品名": "ネット自動車保険",
        "累計更新回数": "1",
        "累計支払金額": "48,000",
        "メールアドレス取得フラグ": "真",
        "LINEID 利用フラグ": "真",
        "スマホアプリ利用フラグ": "偽",
    }
    return row | changes


def test_f5_customer_file_round_trips(runtime, tmp_path):
    """基本シナリオ配信用データ lands in customer, channels (E.164 phone), activity and contract tables."""
    report = run(runtime, "F5", write_csv(tmp_path / "f5.csv", [f5_row()]))
    assert report.committed and report.imported == 1
    customer = one(runtime, Customer)
    assert (
        customer.customer_code,
        customer.family_name,
        customer.given_name,
        customer.gender,
        customer.age_band,
        customer.prefecture,
    ) == ("C0001", "山田", "太郎", "male", "40代", "神奈川県")
    channels = one(runtime, CustomerChannels)
    assert (channels.email_main, channels.sms_phone, channels.line_user_id) == (
        "taro.yamada@example.com",
        "+819012345678",
        LINE_A,
    )
    assert (channels.email_permitted, channels.line_permitted, channels.sms_permitted) == (True, True, False)
    contract = one(runtime, ContractSummary)
    assert (contract.contracted, contract.status, contract.non_life, contract.life) == (
        True,
        "契約中",
        True,
        False,
    )
    assert (contract.first_start_on, contract.next_renewal_on) == (date(2024, 5, 1), date(2025, 5, 1))
    assert (contract.total_paid, contract.renewal_count, contract.current_product_code) == (48000, 1, "P031")
    activity = one(runtime, CustomerActivity)
    assert (activity.document_requested, activity.first_document_request_on, activity.line_friend) == (
        True,
        date(2024, 4, 1),
        True,
    )
    assert one(runtime, ProductType).kind == "non_life"


def test_f1_document_request_attaches_to_the_customer_by_email(runtime, tmp_path):
    """A 資料請求 row without 顧客ID belongs to the customer whose main email it gives (no duplicate person)."""
    run(runtime, "F5", write_csv(tmp_path / "f5.csv", [f5_row()]))
    f1 = {
        "資料請求ID": "DR0001",
        **CHANNELS,
        "LINE ID": "",
        "資料ID": "D01",
        "資料名": "自動車保険パンフレット",
        "資料請求日": "2024-06-10",
        "資料請求からの経過日数": "3",
        **PRODUCT,
        "契約フラグ": "偽",
        **PERSON,
        "当日 メールアドレスユニークフラグ": "真",
        "当日 SMSユニークフラグ": "真",
        "当日 LINE IDユニークフラグ": "真",
    }
    assert run(runtime, "F1", write_csv(tmp_path / "f1.csv", [f1])).committed
    request = one(runtime, DocumentRequest)
    assert (request.request_code, request.document_code, request.requested_on, request.product_code) == (
        "DR0001",
        "D01",
        date(2024, 6, 10),
        "P031",
    )
    assert request.customer_id == one(runtime, Customer).id


def test_f1_to_f3_prospects_become_customers_without_code(runtime, tmp_path):
    """A quote from someone unknown creates a customer without 顧客ID; a later reservation by phone finds them."""
    f2 = {"見積ID": "QT1", **CHANNELS, "見積日": "2024/07/01", **PRODUCT, "契約フラグ": "偽", **PERSON}
    run(runtime, "F2", write_csv(tmp_path / "f2.csv", [f2]))
    only_phone = {key: "" for key in CHANNELS} | {"SMS電話番号": "09012345678", "SMS配信許可フラグ": "真"}
    f3 = {
        "来店予約ID": "RV1",
        **only_phone,
        "来店予約日": "2024/07/02",
        "来店予定日": "2024/07/09",
        "来店フラグ": "真",
        "来店日": "2024/07/09",
        "来店キャンセルフラグ": "偽",
        "来店再予約フラグ": "偽",
        **PRODUCT,
        "契約フラグ": "偽",
        **PERSON,
        "店舗ID": "S001",
        "店舗名": "新宿店",
        "スタッフID": "ST01",
        "スタッフ名": "佐藤 花子",
        "相談内容": "自動車保険の見直し",
        "相談のきっかけ": "車の買い替え",
    }
    assert run(runtime, "F3", write_csv(tmp_path / "f3.csv", [f3])).committed
    customer = one(runtime, Customer)
    assert customer.customer_code is None
    assert one(runtime, Quote).customer_id == one(runtime, Reservation).customer_id == customer.id
    reservation = one(runtime, Reservation)
    assert (reservation.visited, reservation.visit_on, reservation.store_code, reservation.consultation) == (
        True,
        date(2024, 7, 9),
        "S001",
        "自動車保険の見直し",
    )
    assert one(runtime, CustomerChannels).sms_permitted is True  # the later file's explicit 真 wins


def test_f4_f6_f7_round_trip(runtime, tmp_path):
    """Page views (JST times stored in UTC), campaign benefits and LINE memberships are imported."""
    f4 = {
        "webアクセスログID": "WL1",
        **CHANNELS,
        "顧客ID": "C0001",
        "ビジターID": "V1",
        "契約フラグ": "真",
        "ページタイトル": "解約手続き",
        "ページURL": "https://www.example-insurance.jp/mypage/cancel",
        "閲覧日時": "2024/08/01 09:30:00",
        **PERSON,
    }
    f6 = {
        "顧客ID‐キャンペーンID": "C0001-CP001",
        **CHANNELS,
        "顧客ID": "C0001",
        "キャンペーンID": "CP001",
        "キャンペーン名": "新規契約キャンペーン",
        "キャンペーン付与日": "2024/08/02",
        "キャンペーン特典付与フラグ": "真",
        "キャンペーン特典利用フラグ": "偽",
        **PERSON,
    }
    f7 = {
        "LINE ID": LINE_A,
        "メールアドレス(メイン)": "",
        "メールアドレス(サブ)": "",
        "メルマガ許可フラグ": "",
        "顧客ID": "C0001",
        "LINE配信許可フラグ": "真",
        "LINE ID連携フラグ": "偽",
        "LINE会員登録日": "2024/08/03",
    }
    for kind, row in (("F4", f4), ("F6", f6), ("F7", f7)):
        assert run(runtime, kind, write_csv(tmp_path / f"{kind}.csv", [row])).committed, kind
    view = one(runtime, PageView)
    assert view.viewed_at == datetime(2024, 8, 1, 0, 30, tzinfo=UTC)
    benefit = one(runtime, CampaignBenefit)
    assert (benefit.campaign_code, benefit.granted, benefit.used, benefit.granted_on) == (
        "CP001",
        True,
        False,
        date(2024, 8, 2),
    )
    member = one(runtime, LineMembership)
    assert (member.line_user_id, member.linked, member.registered_on) == (LINE_A, False, date(2024, 8, 3))
    assert view.customer_id == benefit.customer_id == member.customer_id == one(runtime, Customer).id


def test_cp932_excel_file_with_english_aliases(runtime, tmp_path):
    """A Shift_JIS (CP932) file is read, and English header aliases work like the Japanese names."""
    path = write_csv(
        tmp_path / "excel.csv",
        [
            {
                "customer_id": "C9",
                "family_name": "髙橋",
                "given_name": "﨑子",
                "prefecture": "大阪",
                "email_main": "ｔａｋａｈａｓｈｉ@example.jp",
                "email_permitted": "1",
            }
        ],
        "cp932",
    )
    assert run(runtime, "customers", path).committed
    customer = one(runtime, Customer)
    assert (customer.family_name, customer.given_name, customer.prefecture) == ("髙橋", "﨑子", "大阪府")
    assert one(runtime, CustomerChannels).email_main == "takahashi@example.jp"


def test_bad_rows_reject_the_whole_file(runtime, tmp_path):
    """Any bad row: nothing is written, and the report names each bad line and column."""
    rows = [
        f5_row(),
        f5_row(顧客ID="C0002", SMS電話番号="12345"),
        f5_row(顧客ID="", 初回資料請求日="2024/02/30"),
    ]
    report = run(runtime, "F5", write_csv(tmp_path / "f5.csv", rows))
    assert not report.committed and report.imported == 0 and report.rejected == 2
    assert [line for line, _ in report.errors] == [3, 4]
    assert "SMS電話番号: not a valid phone number" in report.errors[0][1][0]
    assert any("顧客ID: required" in e for e in report.errors[1][1])
    assert any("初回資料請求日: no such date" in e for e in report.errors[1][1])
    assert all(rows == [] for rows in snapshot(runtime).values())


def test_skip_invalid_imports_good_rows_and_writes_rejects(runtime, tmp_path):
    """--skip-invalid keeps the good rows and writes the bad ones, with reasons, to a rejects file."""
    rows = [f5_row(), f5_row(顧客ID="C0002", メルマガ許可フラグ="たぶん")]
    rejects = tmp_path / "rejects.csv"
    report = run(runtime, "F5", write_csv(tmp_path / "f5.csv", rows), skip_invalid=True, rejects_path=rejects)
    assert report.committed and (report.imported, report.rejected) == (1, 1)
    assert one(runtime, Customer).customer_code == "C0001"
    saved = list(csv.reader(rejects.read_text(encoding="utf-8-sig").splitlines()))
    assert saved[1][0] == "3" and "メルマガ許可フラグ: not a flag" in saved[1][1] and saved[1][2] == "C0002"


def test_reimport_changes_nothing(runtime, tmp_path):
    """Importing the same file again leaves every table exactly as it was (not even updated_at moves)."""
    path = write_csv(tmp_path / "f5.csv", [f5_row(), f5_row(顧客ID="C0002", **{"LINE ID": LINE_B})])
    assert run(runtime, "F5", path).committed
    before = snapshot(runtime)
    assert run(runtime, "F5", path).committed
    assert snapshot(runtime) == before


def test_permission_changes_are_recorded_as_consent_history(runtime, tmp_path):
    """Each change of a channel permission adds one consent event; blank cells change nothing."""
    run(runtime, "F5", write_csv(tmp_path / "a.csv", [f5_row()]))
    run(runtime, "F5", write_csv(tmp_path / "b.csv", [f5_row(メルマガ許可フラグ="偽", SMS配信許可フラグ="")]))
    with Session(runtime.engine) as session:
        events = session.execute(select(ConsentEvent).order_by(ConsentEvent.id)).scalars().all()
    assert [(e.channel, e.granted) for e in events] == [
        ("email", True),
        ("line", True),
        ("sms", False),
        ("push", False),
        ("email", False),
    ]
    assert {e.source for e in events} == {"import:F5"}
    assert one(runtime, CustomerChannels).sms_permitted is False


def test_each_consent_change_keeps_the_files_name_hash_and_line(runtime, tmp_path, app):
    """Every consent row an import writes names the file, its SHA-256 and the row's line (the header is line 1);
    importing the same file again adds no consent row; a later file's change names that file and line; the
    report (and `flask import`) prints the hash."""
    first = write_csv(
        tmp_path / "顧客_2024-06.csv", [f5_row(), f5_row(顧客ID="C0002", **{"LINE ID": LINE_B})]
    )
    digest = hashlib.sha256(first.read_bytes()).hexdigest()
    report = run(runtime, "F5", first)
    assert f"  SHA-256 {digest} (kept with each consent change as evidence)" in report.lines()

    def evidence() -> list[tuple]:
        with Session(runtime.engine) as session:
            events = session.execute(select(ConsentEvent).order_by(ConsentEvent.id)).scalars().all()
            return [
                (e.channel, e.evidence_file, e.evidence_sha256, e.evidence_line, e.evidence_ref)
                for e in events
            ]

    channels = ["email", "line", "sms", "push"]
    written = [(c, "顧客_2024-06.csv", digest, line, None) for line in (2, 3) for c in channels]
    assert evidence() == written
    assert app.test_cli_runner().invoke(args=["import", "F5", str(first)]).output.count(digest) == 1
    assert evidence() == written  # the same file again: nothing changed, nothing added
    later = write_csv(
        tmp_path / "b.csv", [f5_row(), f5_row(顧客ID="C0002", SMS配信許可フラグ="真", **{"LINE ID": LINE_B})]
    )
    run(runtime, "F5", later)
    assert evidence() == [*written, ("sms", "b.csv", hashlib.sha256(later.read_bytes()).hexdigest(), 3, None)]


def test_line_id_of_another_customer_is_refused(runtime, tmp_path):
    """One LINE account is one person: a second customer claiming it is a rejected row."""
    rows = [f5_row(), f5_row(顧客ID="C0002")]
    report = run(runtime, "F5", write_csv(tmp_path / "f5.csv", rows))
    assert not report.committed
    assert report.errors == [(3, ["LINE ID: already belongs to another customer"])]


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("顧客ID,好きな色\n", "unknown columns: 好きな色"),
        ("姓,名\n", "missing required columns: 顧客ID"),
        ("顧客ID,顧客ID\n", "appears twice"),
        ("", "empty"),
        ("\n顧客ID,姓\n", "the first line is blank"),
    ],
)
def test_bad_headers_reject_before_anything_is_written(runtime, tmp_path, header, reason):
    """Unknown, missing or repeated columns, an empty file or a blank first line reject the file with a clear
    reason."""
    path = tmp_path / "f5.csv"
    path.write_text(header + ("C1,x\n" if header else ""), encoding="utf-8")
    with pytest.raises(FileRejected, match=reason):
        run(runtime, "F5", path)


def test_every_kind_has_its_spec_columns():
    """The seven specs carry the deck's column counts."""
    assert {kind: len(spec.columns) for kind, spec in SPECS.items()} == {
        "F1": 27,
        "F2": 25,
        "F3": 42,
        "F4": 26,
        "F5": 49,
        "F6": 23,
        "F7": 9,
    }


def test_cli_reports_and_exits_non_zero_on_rejection(app, tmp_path):
    """`flask import` prints the report and fails (exit 1) when the file is rejected."""
    path = write_csv(tmp_path / "f5.csv", [f5_row(顧客ID="")])
    result = app.test_cli_runner().invoke(args=["import", "F5", str(path)])
    assert result.exit_code == 1
    assert "REJECTED, nothing written" in result.output and "line 2: 顧客ID: required" in result.output
    ok = app.test_cli_runner().invoke(
        args=["import", "基本シナリオ配信用データ", str(write_csv(tmp_path / "g.csv", [f5_row()]))]
    )
    assert ok.exit_code == 0 and "1 row, 0 rejected — imported" in ok.output
    assert "  customers: 1 new, 0 updated, 0 unchanged" in ok.output
    assert re.search(r"^1 row in \d+\.\d s \([\d,]+ rows/s\)$", ok.output, re.MULTILINE), ok.output


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_generated_sample_files_import_cleanly(runtime, tmp_path, kind):
    """Every sample file the generator writes (F5 first, so the others join it) imports with no rejected row."""
    from devtools.sample_data import write_csv

    for needed in dict.fromkeys(["F5", kind]):
        path = tmp_path / f"{needed}.csv"
        write_csv(needed, path, 60, seed=3, customers=40)
        report = run(runtime, needed, path)
        assert report.committed and report.rejected == 0, report.lines()[:5]


def test_a_prospect_becomes_the_customer_when_their_customer_id_arrives(runtime, tmp_path):
    """資料請求 first (no 顧客ID), then F5 with a 顧客ID and the same email and LINE ID: one customer, not two."""
    f1 = {"資料請求ID": "DR0001", **CHANNELS, "資料請求日": "2024-06-10", **PRODUCT, **PERSON}
    assert run(runtime, "F1", write_csv(tmp_path / "f1.csv", [f1])).committed
    prospect = one(runtime, Customer)
    assert prospect.customer_code is None
    report = run(runtime, "F5", write_csv(tmp_path / "f5.csv", [f5_row()]))
    assert report.committed and report.rejected == 0, report.lines()
    customer = one(runtime, Customer)
    assert (customer.id, customer.customer_code) == (prospect.id, "C0001")
    assert one(runtime, DocumentRequest).customer_id == customer.id
    assert one(runtime, ContractSummary).customer_id == customer.id


def _import_all_kinds(runtime, folder: Path) -> None:
    for kind in ["F5", "F1", "F2", "F3", "F4", "F6", "F7"]:
        report = run(runtime, kind, folder / f"{kind}.csv")
        assert report.committed and report.rejected == 0, report.lines()[:5]


@pytest.mark.parametrize("first", ["copy", "json"])
def test_copy_and_json_transports_write_the_same_rows(runtime, tmp_path, monkeypatch, first):
    """Large batches travel by COPY on PostgreSQL: re-importing by the other transport finds nothing to change."""
    from bot.platform import bulk
    from devtools.sample_data import write_csv as write_sample

    for kind in ["F5", "F1", "F2", "F3", "F4", "F6", "F7"]:
        write_sample(kind, tmp_path / f"{kind}.csv", 600, seed=5, customers=500)
    small_batches_only = 10**9
    transports = {"copy": bulk.COPY_MIN_ROWS, "json": small_batches_only}
    monkeypatch.setattr(bulk, "COPY_MIN_ROWS", transports[first])
    _import_all_kinds(runtime, tmp_path)
    written = snapshot(runtime)
    assert len(written["customers"]) >= 500 and len(written["consent_events"]) > 1000
    monkeypatch.setattr(bulk, "COPY_MIN_ROWS", transports["json" if first == "copy" else "copy"])
    _import_all_kinds(runtime, tmp_path)
    assert snapshot(runtime) == written
