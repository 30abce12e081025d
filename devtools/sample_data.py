"""Sample data files for demos, tests and benchmarks: the insurer's seven CSV files F1–F7 of the scenario deck
(資料請求者向け, 見積者向け, 来店予約者向け, サイト行動, 基本シナリオ配信用, キャンペーン特典, LINE連携促進用), of any size.

Rows are realistic and internally consistent: a visit date only when 来店フラグ is 真, a cancellation date only
when 来店キャンセルフラグ is 真, life/non-life contract flags that match the current product, day counts that
match the dates and `today`. Everything is a pure function of the seed, and customer n (顧客ID C000000n) has the
same name, email, phone and LINE ID in every file, so the files join: F5 row n is customer n, and F1–F4, F6 and
F7 draw their customers from 1..N (N = the row count unless `customers` says otherwise). Rows are produced one
at a time, so millions of them are written in bounded memory:

    python -m devtools.sample_data F5 --rows 1000000 --out var/f5.csv --seed 1 --encoding cp932

The files written here are the SAMPLE base's (顧客ID C…, 資料請求ID DRC…); `make demo`'s sample customers are the
DEMO base's (D…, DRD…), with addresses and phone numbers of their own, so importing sample files beside the demo
adds customers and never changes the demo's (LINE and visitor ids are random 128- and 64-bit values).
"""

from __future__ import annotations

import argparse
import base64
import csv
import datetime as dt
import functools
import hashlib
import itertools
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from devtools import sample_catalog as cat
from devtools.sample_catalog import FILE_KINDS, FILE_TITLES

__all__ = ["BASE_SIZE", "DEMO", "FILE_KINDS", "FILE_TITLES", "SAMPLE", "Base", "generate_rows", "main",
           "write_csv"]  # fmt: skip

TRUE, FALSE = "真", "偽"
EMAIL, SMS, LINE = "メールアドレス(メイン)", "SMS電話番号", "LINE ID"
Row = dict[str, str]
_STORE_NAMES = dict(cat.STORES)
_AGE_CUMULATIVE = tuple(itertools.accumulate(cat.AGE_WEIGHTS))
_PREFECTURE_CUMULATIVE = tuple(itertools.accumulate(cat.PREFECTURE_WEIGHTS))


def _flag(value: bool) -> str:
    return TRUE if value else FALSE


@functools.lru_cache(maxsize=16384)  # a file has a few thousand distinct dates and millions of rows
def _ymd(day: dt.date | None) -> str:
    return "" if day is None else f"{day.year:04d}/{day.month:02d}/{day.day:02d}"


def _days(earlier: dt.date | None, later: dt.date | None) -> str:
    """The deck's 経過日数 / 残日数 value: days from `earlier` to `later`, empty when a date is missing."""
    return "" if earlier is None or later is None else str((later - earlier).days)


def _rng(seed: int, *parts: object) -> random.Random:
    digest = hashlib.blake2b(repr((seed, *parts)).encode(), digest_size=16).digest()
    return random.Random(int.from_bytes(digest, "big"))


def _ago(rng: random.Random, anchor: dt.date, low: int, high: int) -> dt.date:
    return anchor - dt.timedelta(days=rng.randint(low, high))


def _between(rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
    return first + dt.timedelta(days=rng.randint(0, (last - first).days))


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a non-leap year
        return day.replace(year=day.year + years, day=28)


def _years_between(start: dt.date, day: dt.date) -> int:
    years = day.year - start.year
    return years - 1 if _add_years(start, years) > day else years


def _product(columns: tuple[str, ...], product: cat.Product | None) -> Row:
    values = (product.type.id, product.type.name, product.id, product.name) if product else ("",) * 4
    return dict(zip(columns, values, strict=True))


@dataclass(frozen=True, slots=True)
class Contract:
    """A customer's latest contract (契約) as of today; an empty status means never contracted."""

    status: str = ""
    product: cat.Product | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    next_renewal: dt.date | None = None
    previous_renewal: dt.date | None = None
    renewals: int = 0
    paid: int = 0

    @property
    def active(self) -> bool:
        return self.status == cat.STATUS_ACTIVE

    @property
    def current(self) -> cat.Product | None:
        return self.product if self.active else None


@dataclass(frozen=True, slots=True)
class Customer:
    """One person of the sample customer base, identical in every file generated with the same seed."""

    number: int
    id: str
    channel: Row  # the nine channel-block columns (email/MA, LINE, SMS, push)
    person: Row  # 性別, 年代, 都道府県, 姓, 名
    visitor_id: str
    contract: Contract


def _contract(rng: random.Random, today: dt.date) -> Contract:
    if rng.random() < 0.35:
        return Contract()
    product = rng.choice(cat.PRODUCTS)
    start = _ago(rng, today, 30, 3650)
    years = _years_between(start, today)
    status = rng.choices((cat.STATUS_ACTIVE, cat.STATUS_CANCELLED, cat.STATUS_MATURED), (75, 15, 10))[0]
    if status == cat.STATUS_MATURED and years == 0:
        status = cat.STATUS_CANCELLED
    next_renewal = None
    if status == cat.STATUS_ACTIVE:  # renewed every anniversary, still running
        end, renewals, next_renewal = None, years, _add_years(start, years + 1)
    elif status == cat.STATUS_CANCELLED:
        end = start + dt.timedelta(days=rng.randint(14, (today - start).days))
        renewals = _years_between(start, end)
    else:  # matured on an anniversary
        term = rng.randint(1, years)
        end, renewals = _add_years(start, term), term - 1
    previous = _add_years(start, renewals) if renewals else None
    months = ((end or today) - start).days // 30 + 1
    paid = months * product.monthly_premium
    return Contract(status, product, start, end, next_renewal, previous, renewals, paid)


@dataclass(frozen=True, slots=True)
class Base:
    """A customer base files are drawn from: the letter its 顧客IDs and row ids carry (C0000001, DRC00000001)
    and where its customers' global numbers start, from which their email addresses and phone numbers are made.
    Bases never share a global number, so no key, address or phone of one base is ever another's."""

    letter: str
    offset: int  # global number of its customer 0


BASE_SIZE = 9_999_999  # customers 1..BASE_SIZE: the seven digits of a 顧客ID
SAMPLE = Base("C", 0)  # the files `python -m devtools.sample_data` writes
DEMO = Base("D", BASE_SIZE)  # `make demo`'s sample customers, whom imported sample files must never touch


def _phone(number: int, rng: random.Random) -> str:
    # An affine map with a multiplier coprime to 8 * 10**7 is a bijection: global number n always gets the
    # same subscriber digits, no other number gets them. They start 1–8: numbers like 090-0xxx are not
    # allocated (the importer refuses them), and 090-9xxx-xxxx are left for people made by hand (the demo's cast).
    digits = f"{(number * 7_654_321 + 31_415_926) % (8 * 10**7) + 10**7:08d}"
    prefix = rng.choice(cat.MOBILE_PREFIXES)
    return f"{prefix}-{digits[:4]}-{digits[4:]}" if rng.random() < 0.6 else prefix + digits


def _fcm_token(rng: random.Random) -> str:
    def b64(size: int) -> str:
        return base64.urlsafe_b64encode(rng.randbytes(size)).decode().rstrip("=")

    return f"{b64(16)}:APA91b{b64(102)}"


def make_customer(seed: int, number: int, today: dt.date, base: Base = SAMPLE) -> Customer:
    """Customer `number` (1..BASE_SIZE) of `base` for `seed`, as of `today`."""
    if not 1 <= number <= BASE_SIZE:
        raise ValueError(f"a customer base holds customers 1 to {BASE_SIZE:,}, not {number:,}")
    serial = base.offset + number  # unique across bases: the addresses and the phone number are made from it
    rng = _rng(seed, "customer", serial)
    female = rng.random() < 0.5
    family, family_roman = rng.choice(cat.FAMILY_NAMES)
    given, given_roman = rng.choice(cat.FEMALE_NAMES if female else cat.MALE_NAMES)
    email = sub = phone = line_id = fcm = ""
    if rng.random() < 0.93:  # the digits of `serial` end the local part, so addresses are unique
        local = rng.choice(("{g}.{f}{n}", "{f}.{g}{n}", "{g}_{f}{n}", "{f}{g}{n}"))
        email = local.format(g=given_roman, f=family_roman, n=serial) + "@" + rng.choice(cat.EMAIL_DOMAINS)
        if rng.random() < 0.25:
            sub = f"{given_roman}{serial}@example.net"
    if not email or rng.random() < 0.8:  # whoever has no email can still be reached by SMS
        phone = _phone(serial, rng)
    if rng.random() < 0.65:
        line_id = f"U{rng.getrandbits(128):032x}"
    if rng.random() < 0.4:
        fcm = _fcm_token(rng)
    channel = {
        EMAIL: email,
        "メールアドレス(サブ)": sub,
        "メルマガ許可フラグ": _flag(bool(email) and rng.random() < 0.85),
        LINE: line_id,
        "LINE配信許可フラグ": _flag(bool(line_id) and rng.random() < 0.9),
        SMS: phone,
        "SMS配信許可フラグ": _flag(bool(phone) and rng.random() < 0.8),
        "FCMトークン": fcm,
        "アプリpush配信フラグ": _flag(bool(fcm) and rng.random() < 0.8),
    }
    person = {
        "性別": "女性" if female else "男性",
        "年代": rng.choices(cat.AGE_GROUPS, cum_weights=_AGE_CUMULATIVE)[0],
        "都道府県": rng.choices(cat.PREFECTURES, cum_weights=_PREFECTURE_CUMULATIVE)[0],
        "姓": family,
        "名": given,
    }
    visitor = f"V{rng.getrandbits(64):016x}"
    return Customer(number, f"{base.letter}{number:07d}", channel, person, visitor, _contract(rng, today))


@dataclass
class _Context:
    """What one file's rows are drawn from: the seed's customer base and a row-level random stream."""

    seed: int
    count: int
    today: dt.date
    pool: int
    base: Base
    rng: random.Random
    last: Customer | None = None

    def customer(self, number: int) -> Customer:
        return make_customer(self.seed, number, self.today, self.base)

    def row_id(self, prefix: str, index: int, digits: int = 8) -> str:
        """Row `index`'s key: the file's prefix, the base's letter, the row's serial (DRC00000001)."""
        return f"{prefix}{self.base.letter}{index + 1:0{digits}d}"

    def event_customer(self) -> Customer:
        """A customer with an email (DEST● in F1–F4); sometimes the previous one again, as on a busy day."""
        if self.last is not None and self.rng.random() < 0.05:
            return self.last
        start = self.rng.randint(1, self.pool)
        for step in itertools.count():
            number = (start - 1 + step) % self.pool + 1 if step < self.pool else start + step
            customer = self.customer(number)
            if customer.channel[EMAIL]:
                self.last = customer
                return customer
        raise AssertionError("unreachable")

    def day(self, index: int, span: int) -> dt.date:
        """Row `index` of the file spread evenly over the last `span` days, oldest first (as IDs are issued)."""
        return self.today - dt.timedelta(days=span - index * (span + 1) // self.count)


@dataclass
class _SameDay:
    """The 当日ユニークフラグ: 真 on the first row of the day for an address, so each gets one message a day."""

    day: dt.date | None = None
    seen: tuple[set[str], ...] = field(default_factory=lambda: (set(), set(), set()))

    def flags(self, day: dt.date, channel: Row) -> Row:
        if day != self.day:
            self.day, self.seen = day, (set(), set(), set())
        flags = {}
        for column, key, seen in zip(cat.SAME_DAY_COLUMNS, (EMAIL, SMS, LINE), self.seen, strict=True):
            value = channel[key]
            flags[column] = _flag(bool(value) and value not in seen)
            seen.add(value)
        return flags


def _document_requests(ctx: _Context) -> Iterator[Row]:
    """F1: one row per document request (資料請求) in the last 120 days."""
    same_day = _SameDay()
    for index in range(ctx.count):
        c, day = ctx.event_customer(), ctx.day(index, 120)
        doc_id, doc_name, product = ctx.rng.choice(cat.DOCUMENTS)
        yield {
            "資料請求ID": ctx.row_id("DR", index), **c.channel, "資料ID": doc_id, "資料名": doc_name,
            "資料請求日": _ymd(day), "資料請求からの経過日数": _days(day, ctx.today),
            **_product(cat.PRODUCT_COLUMNS, product), "契約フラグ": _flag(c.contract.active),
            **c.person, **same_day.flags(day, c.channel),
        }  # fmt: skip


def _quotes(ctx: _Context) -> Iterator[Row]:
    """F2: one row per quote (見積) in the last 120 days."""
    same_day = _SameDay()
    for index in range(ctx.count):
        c, day = ctx.event_customer(), ctx.day(index, 120)
        yield {
            "見積ID": ctx.row_id("QT", index), **c.channel, "見積日": _ymd(day), "見積からの経過日数": _days(day, ctx.today),
            **_product(cat.PRODUCT_COLUMNS, ctx.rng.choice(cat.PRODUCTS)), "契約フラグ": _flag(c.contract.active),
            **c.person, **same_day.flags(day, c.channel),
        }  # fmt: skip


def _reservations(ctx: _Context) -> Iterator[Row]:
    """F3: store-visit reservations (来店予約) booked in the last 45 days for a visit within ±30 days of today."""
    same_day, rng, today = _SameDay(), ctx.rng, ctx.today
    for index in range(ctx.count):
        c, booked = ctx.event_customer(), ctx.day(index, 45)
        back = (today - booked).days
        scheduled = booked + dt.timedelta(days=rng.randint(max(1, back - 30), 30))
        visit = cancel = rebook = None
        if rng.random() < 0.2:
            cancel = _between(rng, booked, min(scheduled, today))
            rebook = _between(rng, cancel, today) if rng.random() < 0.4 else None
        elif scheduled <= today and rng.random() < 0.8:
            visit = scheduled
        staff_id, staff_name, store_id = rng.choice(cat.ADVISERS)
        yield {
            "来店予約ID": ctx.row_id("RV", index), **c.channel,
            "来店予約日": _ymd(booked), "来店予約からの経過日数": _days(booked, today),
            "来店予定日": _ymd(scheduled), "来店までの残日数": _days(today, scheduled),
            "来店フラグ": _flag(visit is not None), "来店日": _ymd(visit), "来店日からの経過日数": _days(visit, today),
            "来店キャンセルフラグ": _flag(cancel is not None), "来店キャンセル日": _ymd(cancel),
            "来店キャンセルからの経過日数": _days(cancel, today),
            "来店再予約フラグ": _flag(rebook is not None), "来店再予約日": _ymd(rebook),
            "来店再予約からの経過日数": _days(rebook, today),
            **_product(cat.PRODUCT_COLUMNS, rng.choice(cat.PRODUCTS)), "契約フラグ": _flag(c.contract.active),
            **c.person, "店舗ID": store_id, "店舗名": _STORE_NAMES[store_id], "スタッフID": staff_id,
            "スタッフ名": staff_name, "相談内容": rng.choice(cat.CONSULTATIONS),
            "相談のきっかけ": rng.choice(cat.CONSULTATION_TRIGGERS), **same_day.flags(booked, c.channel),
        }  # fmt: skip


def _page_views(ctx: _Context) -> Iterator[Row]:
    """F4: web page views (webアクセスログ) of known customers over the 30 days before today, oldest first."""
    rng, start = ctx.rng, dt.datetime.combine(ctx.today - dt.timedelta(days=30), dt.time())
    step = 30 * 86400 / max(ctx.count, 1)
    for index in range(ctx.count):
        c = ctx.event_customer()
        at = start + dt.timedelta(seconds=int((index + rng.random()) * step))
        current = c.contract.current
        if current and rng.random() < 0.3:  # contract holders use the my-page, a few look at cancelling
            title, path = cat.CANCEL_PAGE if rng.random() < 0.2 else rng.choice(cat.MYPAGE_PAGES)
        else:
            title, path = rng.choice(cat.PAGES)
        yield {
            "webアクセスログID": ctx.row_id("WL", index, 10), **c.channel, "顧客ID": c.id, "ビジターID": c.visitor_id,
            "契約フラグ": _flag(c.contract.active), **_product(cat.CURRENT_PRODUCT_COLUMNS, current),
            "ページタイトル": title, "ページURL": cat.SITE + path,
            "閲覧日時": f"{_ymd(at.date())} {at:%H:%M:%S}", "閲覧日からの経過日数": _days(at.date(), ctx.today),
            **c.person,
        }  # fmt: skip


def _customers(ctx: _Context) -> Iterator[Row]:
    """F5: one row per customer (顧客) with the roll-ups of their requests, quotes, visits and contract."""
    rng, today = ctx.rng, ctx.today
    for number in range(1, ctx.count + 1):
        c = ctx.customer(number)
        k, email = c.contract, c.channel[EMAIL]
        if k.start:  # the journey that led to the contract: brochure, then quote, maybe a store visit
            document = _ago(rng, k.start, 20, 90) if rng.random() < 0.6 else None
            quote = _ago(rng, k.start, 1, 19) if rng.random() < 0.7 else None
            visit = _ago(rng, k.start, 1, 30) if rng.random() < 0.35 else None
        else:
            document = _ago(rng, today, 0, 720) if rng.random() < 0.5 else None
            quote = _ago(rng, today, 0, 720) if rng.random() < 0.3 else None
            visit = _ago(rng, today, 0, 720) if rng.random() < 0.15 else None
        current = k.current
        cancelled = k.product if k.status == cat.STATUS_CANCELLED else None
        held = _product(cat.CURRENT_PRODUCT_COLUMNS, current)
        yield {
            "顧客ID": c.id, **c.channel, **c.person,
            "資料請求フラグ": _flag(document is not None), "初回資料請求日": _ymd(document),
            "初回資料請求日からの経過日数": _days(document, today),
            "見積フラグ": _flag(quote is not None), "初回見積日": _ymd(quote), "初回見積日からの経過日数": _days(quote, today),
            "生命保険契約フラグ": _flag(current is not None and current.type.life),
            "損害保険契約フラグ": _flag(current is not None and not current.type.life),
            "現在契約中の商品種別名": held["現在契約中の商品種別名"], "来店フラグ": _flag(visit is not None),
            "契約フラグ": _flag(k.active), "契約ステータス": k.status,
            "初回契約開始日": _ymd(k.start), "初回契約開始からの経過日数": _days(k.start, today),
            "契約終了日": _ymd(k.end), "契約終了日からの経過日数": _days(k.end, today),
            "次回契約更新日": _ymd(k.next_renewal), "次回契約更新日までの残日数": _days(today, k.next_renewal),
            "前回契約更新日": _ymd(k.previous_renewal), "前回契約更新日からの経過日数": _days(k.previous_renewal, today),
            "現在契約中の商品種別ID": held["現在契約中の商品種別ID"],
            "初回来店日": _ymd(visit), "初回来店日からの経過日数": _days(visit, today),
            "現在契約中の商品ID": held["現在契約中の商品ID"], "現在契約中の商品名": held["現在契約中の商品名"],
            **_product(("解約した商品種別ID", "解約した商品種別名", "解約した商品ID", "解約した商品名"), cancelled),
            "累計更新回数": str(k.renewals), "累計支払金額": str(k.paid),
            "メールアドレス取得フラグ": _flag(bool(email)), "LINEID 利用フラグ": _flag(bool(c.channel[LINE])),
            "スマホアプリ利用フラグ": _flag(bool(c.channel["FCMトークン"])),
        }  # fmt: skip


def _benefits(ctx: _Context) -> Iterator[Row]:
    """F6: campaign benefits (キャンペーン特典), one row per customer and campaign, customers in ID order."""
    rng, today, emitted = ctx.rng, ctx.today, 0
    for number in itertools.count(1):
        c = ctx.customer(number)
        if not c.channel[EMAIL]:
            continue
        for campaign_id, name in sorted(rng.sample(cat.CAMPAIGNS, rng.randint(1, 3))):
            if emitted == ctx.count:
                return
            granted = _ago(rng, today, 0, 90) if rng.random() < 0.85 else None
            used = _between(rng, granted, today) if granted and rng.random() < 0.4 else None
            emitted += 1
            yield {
                "顧客ID‐キャンペーンID": f"{c.id}-{campaign_id}", **c.channel, "顧客ID": c.id,
                "キャンペーンID": campaign_id, "キャンペーン名": name, "キャンペーン付与日": _ymd(granted),
                "キャンペーン付与日からの経過日数": _days(granted, today), "キャンペーン利用日": _ymd(used),
                "キャンペーン特典付与フラグ": _flag(granted is not None), "キャンペーン特典利用フラグ": _flag(used is not None),
                **c.person,
            }  # fmt: skip


def _line_members(ctx: _Context) -> Iterator[Row]:
    """F7: LINE friends (LINE会員); those linked to a customer carry the customer's LINE ID and email."""
    rng, today = ctx.rng, ctx.today
    for number in range(1, ctx.count + 1):
        c = ctx.customer(number)
        linked = bool(c.channel[LINE]) and rng.random() < 0.6
        channel = c.channel if linked else {}
        registered = _ago(rng, today, 0, 1095)
        yield {
            LINE: c.channel[LINE] if linked else f"U{rng.getrandbits(128):032x}",
            EMAIL: channel.get(EMAIL, ""), "メールアドレス(サブ)": channel.get("メールアドレス(サブ)", ""),
            "メルマガ許可フラグ": channel.get("メルマガ許可フラグ", FALSE), "顧客ID": c.id if linked else "",
            "LINE配信許可フラグ": channel["LINE配信許可フラグ"] if linked else _flag(rng.random() < 0.9),
            "LINE ID連携フラグ": _flag(linked), "LINE会員登録日": _ymd(registered),
            "LINE会員登録からの経過日数": _days(registered, today),
        }  # fmt: skip


_BUILDERS: dict[str, Callable[[_Context], Iterator[Row]]] = {
    "F1": _document_requests, "F2": _quotes, "F3": _reservations, "F4": _page_views,
    "F5": _customers, "F6": _benefits, "F7": _line_members,
}  # fmt: skip


def generate_rows(
    kind: str, count: int, seed: int = 0, today: dt.date | None = None, *, customers: int | None = None,
    base: Base = SAMPLE,
) -> Iterator[Row]:  # fmt: skip
    """Lazily yield `count` rows of file `kind` ("F1".."F7"), each a dict keyed by the deck's column names in order.

    `customers` is how many customers of `base` the event files draw from (default: `count`)."""
    if kind not in _BUILDERS:
        raise ValueError(f"unknown file kind {kind!r}; expected one of {', '.join(FILE_KINDS)}")
    if count < 0 or (customers is not None and customers < 1):
        raise ValueError("count must be >= 0 and customers >= 1")
    today = today or dt.datetime.now(ZoneInfo("Asia/Tokyo")).date()
    pool = customers or max(count, 1)
    if pool > BASE_SIZE:
        raise ValueError(f"a customer base holds at most {BASE_SIZE:,} customers, not {pool:,}")
    rows = _rng(seed, "rows", kind, base.letter)  # each base its own stream: F7's unlinked LINE IDs differ
    return _BUILDERS[kind](_Context(seed, count, today, pool, base, rows))


def write_csv(
    kind: str, path: str | Path, count: int, seed: int = 0, encoding: str = "utf-8",
    today: dt.date | None = None, *, customers: int | None = None, base: Base = SAMPLE,
) -> int:  # fmt: skip
    """Stream `count` rows of file `kind` to a CSV at `path` (header row first, CRLF, no BOM); return rows written."""
    header = FILE_KINDS[kind]
    written = 0
    with Path(path).open("w", encoding=encoding, newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        for row in generate_rows(kind, count, seed, today, customers=customers, base=base):
            writer.writerow([row[column] for column in header])
            written += 1
    return written


def main(argv: list[str] | None = None) -> int:
    """Command line: write one sample file and say how many rows went where."""
    parser = argparse.ArgumentParser(
        prog="python -m devtools.sample_data", description="Write a sample file."
    )
    parser.add_argument("kind", choices=list(FILE_KINDS), help="which file: " + ", ".join(
        f"{kind} {title}" for kind, title in FILE_TITLES.items()))  # fmt: skip
    parser.add_argument("--rows", type=int, required=True, help="number of data rows")
    parser.add_argument("--out", type=Path, help="CSV path (default: var/<kind>.csv)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--encoding", choices=("utf-8", "cp932"), default="utf-8")
    parser.add_argument("--today", type=dt.date.fromisoformat, help="YYYY-MM-DD the dates are relative to")
    parser.add_argument("--customers", type=int, help="size of the customer base (default: --rows)")
    args = parser.parse_args(argv)
    out: Path = args.out or Path("var") / f"{args.kind.lower()}.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        written = write_csv(
            args.kind, out, args.rows, args.seed, args.encoding, args.today, customers=args.customers
        )
    except ValueError as refused:
        parser.error(str(refused))
    print(f"{written} rows written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
