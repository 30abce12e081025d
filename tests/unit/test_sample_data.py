"""Sample data files F1–F7: the deck's exact layouts, deterministic, realistic and internally consistent."""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from devtools.sample_data import (
    BASE_SIZE,
    DEMO,
    FILE_KINDS,
    FILE_TITLES,
    SAMPLE,
    generate_rows,
    main,
    make_customer,
    write_csv,
)

TODAY = dt.date(2025, 6, 1)
SPEC = Path(__file__).resolve().parents[2].parent / "shared" / "spec" / "scenarios.md"
COLUMN_COUNTS = {"F1": 27, "F2": 25, "F3": 42, "F4": 26, "F5": 49, "F6": 23, "F7": 9}
EMAIL = re.compile(r"^[a-z0-9._]+@example\.(com|jp|net)$")
MOBILE = re.compile(r"^0[789]0(-\d{4}-\d{4}|\d{8})$")
LINE_ID = re.compile(r"^U[0-9a-f]{32}$")
DATE = re.compile(r"^\d{4}/\d{2}/\d{2}$")
MAIN_EMAIL = "メールアドレス(メイン)"


def rows(kind: str, count: int = 1500, seed: int = 7) -> list[dict[str, str]]:
    return list(generate_rows(kind, count, seed=seed, today=TODAY))


def day(value: str) -> dt.date | None:
    return dt.datetime.strptime(value[:10], "%Y/%m/%d").date() if value else None


def spec_tables(text: str) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    section = text[text.index("## 5. Data files") : text.index("## 6.")]
    titles, columns = {}, {}
    for block in section.split("\n### ")[1:]:
        kind = block[:2]
        titles[kind] = re.search(r"`([^`]+)`", block.splitlines()[0]).group(1)
        found = re.finditer(r"^\| \d+ \| ([^|]+) \|", block, re.MULTILINE)
        columns[kind] = tuple(m.group(1).strip() for m in found)
    return titles, columns


def test_headers_have_the_deck_column_counts():
    """Each file has the deck's number of columns (27, 25, 42, 26, 49, 23, 9), none repeated."""
    assert {kind: len(header) for kind, header in FILE_KINDS.items()} == COLUMN_COUNTS
    assert all(len(set(header)) == len(header) for header in FILE_KINDS.values())
    assert FILE_KINDS["F6"][0] == "顧客ID\u2010キャンペーンID"  # U+2010 HYPHEN, as in the deck
    assert "当日 メールアドレスユニークフラグ" in FILE_KINDS["F1"]


@pytest.mark.skipif(not SPEC.exists(), reason="../shared/spec/scenarios.md is not beside the repository")
def test_headers_and_titles_match_the_spec_tables():
    """Header names, their order and the file titles are exactly those of the spec's §5 tables."""
    titles, columns = spec_tables(SPEC.read_text(encoding="utf-8"))
    assert columns == FILE_KINDS
    assert titles == FILE_TITLES


@pytest.mark.parametrize("kind", list(FILE_KINDS))
def test_rows_carry_every_column_in_order_with_well_formed_values(kind):
    """Every row has all columns in header order; flags are 真/偽, dates YYYY/MM/DD, day counts match the dates."""
    header = FILE_KINDS[kind]
    generated = rows(kind, 600)
    assert len(generated) == 600
    keys = [row[header[0]] for row in generated]
    assert len(set(keys)) == len(keys) and all(keys)
    for row in generated:
        assert list(row) == list(header)
        for index, column in enumerate(header):
            value = row[column]
            if column.endswith("フラグ"):
                assert value in ("真", "偽"), (column, value)
            elif column.endswith("日"):
                assert value == "" or DATE.match(value), (column, value)
            elif "経過日数" in column or "残日数" in column:  # the date it counts from sits just before it
                date = day(row[header[index - 1]])
                expected = "" if date is None else (TODAY - date if "経過" in column else date - TODAY).days
                assert value == str(expected), (column, value, date)


def test_same_seed_gives_identical_files_and_another_seed_differs(tmp_path):
    """The same seed writes byte-identical files; a different seed writes different ones."""
    for kind in FILE_KINDS:
        first, again, other = (tmp_path / f"{kind}-{n}.csv" for n in range(3))
        write_csv(kind, first, 200, seed=3, today=TODAY)
        write_csv(kind, again, 200, seed=3, today=TODAY)
        write_csv(kind, other, 200, seed=4, today=TODAY)
        assert first.read_bytes() == again.read_bytes()
        assert first.read_bytes() != other.read_bytes()


def test_cp932_round_trip_keeps_headers_and_names(tmp_path):
    """A file written in CP932 (Shift_JIS for Excel) reads back with the same headers, names and stores."""
    for kind in ("F3", "F5", "F6"):
        path = tmp_path / f"{kind}.csv"
        assert write_csv(kind, path, 500, seed=1, encoding="cp932", today=TODAY) == 500
        with path.open(encoding="cp932", newline="") as source:
            read = list(csv.DictReader(source))
        assert tuple(read[0]) == FILE_KINDS[kind]
        assert read == rows(kind, 500, seed=1)
    assert {row["姓"] + row["名"] for row in read} and "顧客ID‐キャンペーンID" in read[0]


def test_contact_endpoints_are_valid_and_unique_per_customer():
    """Emails are ASCII on example domains, phones Japanese mobiles (both shapes), LINE IDs U+32 hex; all unique."""
    customers = rows("F5", 3000)
    for column, pattern in (
        ("メールアドレス(メイン)", EMAIL),
        ("SMS電話番号", MOBILE),
        ("LINE ID", LINE_ID),
        ("メールアドレス(サブ)", EMAIL),
    ):
        values = [row[column] for row in customers if row[column]]
        assert 0 < len(values) < len(customers), column  # present for most, empty for some
        assert all(pattern.match(value) for value in values), column
        assert len({value.replace("-", "") for value in values}) == len(values), column
    phones = [row["SMS電話番号"] for row in customers if row["SMS電話番号"]]
    assert any("-" in phone for phone in phones) and any("-" not in phone for phone in phones)
    assert all(row["メールアドレス(メイン)"] or row["SMS電話番号"] for row in customers)
    assert all(len(row["FCMトークン"]) > 100 for row in customers if row["FCMトークン"])
    for endpoint, permission in (("LINE ID", "LINE配信許可フラグ"), ("FCMトークン", "アプリpush配信フラグ")):
        assert all(row[permission] == "偽" for row in customers if not row[endpoint])
    assert Counter(row["メルマガ許可フラグ"] for row in customers)["真"] > len(customers) / 2


def test_reservation_dates_exist_exactly_when_their_flags_are_true():
    """F3: visit, cancellation and re-reservation dates appear iff their flags are 真, in a sensible order."""
    reservations = rows("F3", 3000)
    for row in reservations:
        booked, scheduled = day(row["来店予約日"]), day(row["来店予定日"])
        visit, cancel, rebook = day(row["来店日"]), day(row["来店キャンセル日"]), day(row["来店再予約日"])
        assert (visit is not None) == (row["来店フラグ"] == "真")
        assert (cancel is not None) == (row["来店キャンセルフラグ"] == "真")
        assert (rebook is not None) == (row["来店再予約フラグ"] == "真")
        assert booked <= TODAY and booked < scheduled and abs((scheduled - TODAY).days) <= 30
        assert not (visit and cancel) and (visit is None or visit <= TODAY)
        assert cancel is None or booked <= cancel <= min(scheduled, TODAY)
        assert rebook is None or (cancel is not None and cancel <= rebook <= TODAY)
        assert row["店舗ID"] and row["スタッフID"].startswith("ST") and row["相談内容"]
    for flag in ("来店フラグ", "来店キャンセルフラグ", "来店再予約フラグ"):
        assert {row[flag] for row in reservations} == {"真", "偽"}, flag


def test_customer_contracts_are_consistent():
    """F5: life/non-life flags follow the current product, contract dates are ordered, statuses are the deck's."""
    life_types = {"生命保険", "医療保険", "がん保険"}
    customers = rows("F5", 3000)
    statuses = Counter(row["契約ステータス"] for row in customers)
    assert set(statuses) == {"", "契約中", "解約", "満期"}
    for row in customers:
        current, active = row["現在契約中の商品種別名"], row["契約ステータス"] == "契約中"
        assert (row["契約フラグ"] == "真") == active == bool(current) == bool(row["次回契約更新日"])
        assert row["生命保険契約フラグ"] == ("真" if current in life_types else "偽")
        assert row["損害保険契約フラグ"] == ("真" if current in {"自動車保険", "火災保険"} else "偽")
        assert bool(row["解約した商品ID"]) == (row["契約ステータス"] == "解約")
        start, end, renewal = day(row["初回契約開始日"]), day(row["契約終了日"]), day(row["次回契約更新日"])
        assert bool(start) == bool(row["契約ステータス"])
        assert end is None or (start < end <= TODAY)
        assert renewal is None or TODAY < renewal <= TODAY + dt.timedelta(days=366)
        assert int(row["累計支払金額"]) >= 0 and 0 <= int(row["累計更新回数"]) <= 10
        assert (row["メールアドレス取得フラグ"] == "真") == bool(row["メールアドレス(メイン)"])
        assert (row["LINEID 利用フラグ"] == "真") == bool(row["LINE ID"])


def test_campaign_benefits_flags_follow_dates_and_customers_match_f5():
    """F6: granted/used flags match their dates, the key is 顧客ID-キャンペーンID, and people match F5."""
    people = {row["顧客ID"]: row for row in rows("F5", 1500)}
    for row in rows("F6", 1500):
        assert row["顧客ID‐キャンペーンID"] == f"{row['顧客ID']}-{row['キャンペーンID']}"
        granted, used = day(row["キャンペーン付与日"]), day(row["キャンペーン利用日"])
        assert (granted is not None) == (row["キャンペーン特典付与フラグ"] == "真")
        assert (used is not None) == (row["キャンペーン特典利用フラグ"] == "真")
        assert used is None or (granted is not None and granted <= used <= TODAY)
        person = people[row["顧客ID"]]
        for column in ("姓", "名", "性別", "メールアドレス(メイン)", "SMS電話番号", "LINE ID"):
            assert row[column] == person[column], column


def test_event_files_join_to_the_same_customers():
    """F1–F4 rows belong to F5 customers of the same seed: same email gives the same name and phone."""
    by_email = {row[MAIN_EMAIL]: row for row in rows("F5", 1500) if row[MAIN_EMAIL]}
    for kind in ("F1", "F2", "F3", "F4"):
        for row in rows(kind, 1500):
            person = by_email[row[MAIN_EMAIL]]
            for column in ("姓", "名", "性別", "SMS電話番号", "LINE ID"):
                assert row[column] == person[column], (kind, column)
            if kind == "F4":
                assert row["顧客ID"] == person["顧客ID"]
                assert row["現在契約中の商品ID"] == person["現在契約中の商品ID"]


def test_same_day_unique_flags_mark_one_row_per_address_and_day():
    """F1: per request date, exactly one row of each email carries 当日 メールアドレスユニークフラグ=真."""
    marked: defaultdict[tuple[str, str], list[str]] = defaultdict(list)
    for row in rows("F1", 3000, seed=2):
        marked[row["資料請求日"], row[MAIN_EMAIL]].append(row["当日 メールアドレスユニークフラグ"])
    assert all(flags.count("真") == 1 for flags in marked.values())
    assert any(len(flags) > 1 for flags in marked.values())


def test_page_views_include_cancellation_page_views_by_contract_holders():
    """F4: some views are of the cancellation page (/mypage/cancel), always by a current contract holder."""
    views = rows("F4", 3000)
    cancel = [row for row in views if row["ページURL"].endswith("/mypage/cancel")]
    assert cancel and all(row["契約フラグ"] == "真" and row["現在契約中の商品ID"] for row in cancel)
    assert all(row["ページURL"].startswith("https://www.example-insurance.jp/") for row in views)
    times = [row["閲覧日時"] for row in views]
    assert times == sorted(times) and all(re.match(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d$", t) for t in times)


def test_line_members_are_keyed_by_line_id_and_linked_ones_match_f5():
    """F7: every row has a unique LINE ID; linked rows carry the F5 customer's LINE ID, unlinked rows no customer."""
    customers = {row["顧客ID"]: row for row in rows("F5", 1500)}
    members = rows("F7", 1500)
    assert all(LINE_ID.match(row["LINE ID"]) for row in members)
    assert len({row["LINE ID"] for row in members}) == len(members)
    linked = [row for row in members if row["LINE ID連携フラグ"] == "真"]
    assert 0 < len(linked) < len(members)
    for row in members:
        if row["LINE ID連携フラグ"] == "真":
            assert customers[row["顧客ID"]]["LINE ID"] == row["LINE ID"]
        else:
            assert row["顧客ID"] == "" and row["メールアドレス(メイン)"] == ""


def test_generation_is_lazy():
    """Asking for the most customers a base holds returns at once and yields the first without building the rest."""
    first = next(generate_rows("F5", BASE_SIZE, seed=1, today=TODAY))
    assert first["顧客ID"] == "C0000001"


def test_a_base_holds_at_most_base_size_customers():
    """More customers than a base holds are refused at the call: they would take the next base's numbers."""
    with pytest.raises(ValueError, match="at most 9,999,999 customers"):
        generate_rows("F5", BASE_SIZE + 1)
    with pytest.raises(ValueError, match="at most 9,999,999 customers"):
        generate_rows("F4", 10, customers=BASE_SIZE + 1)


# what tells customers and rows apart when a file is imported, under the deck's headers or the English ones
IDENTITY_COLUMNS = {
    "顧客ID": "customer", "customer_id": "customer",
    "メールアドレス(メイン)": "email", "メールアドレス(サブ)": "email", "email_main": "email", "email_sub": "email",
    "SMS電話番号": "phone", "sms_phone": "phone", "LINE ID": "line", "line_user_id": "line",
}  # fmt: skip


def identities(files: list[tuple[str, Path]]) -> set[tuple[str, str]]:
    """(what, value) of every identifier in the files: each file's row key, 顧客IDs, addresses, phones, LINE IDs."""
    found = set()
    for kind, path in files:
        with path.open(encoding="utf-8", newline="") as source:
            for row in csv.DictReader(source):
                key = next(iter(row))
                found.add((f"{kind} key", row[key]))
                for column, what in IDENTITY_COLUMNS.items():
                    if row.get(column):
                        found.add((what, row[column].replace("-", "")))
    return found


def test_sample_files_share_no_identifier_with_the_demo_customers(tmp_path):
    """Files the command line writes, with any seed (the demo's own too), share no row key, 顧客ID, email, phone
    or LINE ID with the files `make demo` imports: imported beside the demo, they only add customers."""
    from devtools.demo import POPULATION, write_files

    demo = identities(write_files(tmp_path / "demo", TODAY - dt.timedelta(days=4), TODAY, population=400))
    assert {what for what, _ in demo} >= {"customer", "email", "phone", "line"}
    for seed in ("0", "9"):
        written = []
        for kind, rows in POPULATION.items():
            out = tmp_path / seed / f"{kind}.csv"
            main([kind, "--rows", str(rows), "--out", str(out), "--seed", seed, "--today", TODAY.isoformat()])
            written.append((kind, out))
        sample = identities(written)
        assert len(sample) > 1000
        assert demo & sample == set(), seed


def test_a_base_letter_and_serial_make_every_identifier():
    """Customer n of the demo's base is D000000n with addresses and a phone of its own; the sample base's is C…."""
    sample, demo = (make_customer(9, 1, TODAY, base) for base in (SAMPLE, DEMO))
    assert (sample.id, demo.id) == ("C0000001", "D0000001")
    assert sample.channel["SMS電話番号"][-8:] != demo.channel["SMS電話番号"][-8:]
    assert demo.channel["メールアドレス(メイン)"].split("@")[0].endswith(str(DEMO.offset + 1))
    first = next(generate_rows("F1", 5, seed=9, today=TODAY, base=DEMO))
    assert first["資料請求ID"] == "DRD00000001"


def test_unknown_kind_is_rejected():
    """An unknown file kind fails at the call, not later while iterating."""
    with pytest.raises(ValueError, match="F8"):
        generate_rows("F8", 10)


def test_command_line_writes_the_file_and_reports_it(tmp_path, capsys):
    """`python -m devtools.sample_data F7 --rows 25 --out …` writes header + 25 rows and prints the count and path."""
    out = tmp_path / "nested" / "f7.csv"
    assert main(["F7", "--rows", "25", "--out", str(out), "--seed", "1", "--today", "2025-06-01"]) == 0
    assert f"25 rows written to {out}" in capsys.readouterr().out
    with out.open(encoding="utf-8", newline="") as source:
        assert len(list(csv.reader(source))) == 26
