"""The seven data files (scenarios.md §5): each column's Japanese header, English alias, target field and parser,
and the columns a file of each kind must carry.

A file must carry its key (主キー) and, beside every address column it has (email, LINE ID, SMS phone, FCM
token), that channel's permission flag: an address without its consent cannot be sent to, and a file silent
on consent would leave an older file to decide (特定電子メール法). A blank flag cell is "not given", as any cell.

Derived day counts (〜からの経過日数, 〜までの残日数) and the same-day uniqueness flags (当日 …ユニークフラグ) are
accepted and ignored: the service recomputes them when it evaluates a scenario, in Asia/Tokyo.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.imports import values as v

_LINE_ID = re.compile(r"^U[0-9a-f]{32}$")
PREFECTURES = frozenset(
    [
        "北海道",
        "青森県",
        "岩手県",
        "宮城県",
        "秋田県",
        "山形県",
        "福島県",
        "茨城県",
        "栃木県",
        "群馬県",
        "埼玉県",
        "千葉県",
        "東京都",
        "神奈川県",
        "新潟県",
        "富山県",
        "石川県",
        "福井県",
        "山梨県",
        "長野県",
        "岐阜県",
        "静岡県",
        "愛知県",
        "三重県",
        "滋賀県",
        "京都府",
        "大阪府",
        "兵庫県",
        "奈良県",
        "和歌山県",
        "鳥取県",
        "島根県",
        "岡山県",
        "広島県",
        "山口県",
        "徳島県",
        "香川県",
        "愛媛県",
        "高知県",
        "福岡県",
        "佐賀県",
        "長崎県",
        "熊本県",
        "大分県",
        "宮崎県",
        "鹿児島県",
        "沖縄県",
    ]
)


def line_id(text: str) -> str:
    value = v.normalise(text)
    if not _LINE_ID.match(value):
        raise ValueError("not a LINE user id (U followed by 32 hex digits)")
    return value


def prefecture(text: str) -> str:
    """都道府県; the suffix may be left off (東京 → 東京都, 大阪 → 大阪府)."""
    value = v.normalise(text)
    value = next((value + suffix for suffix in "都道府県" if value + suffix in PREFECTURES), value)
    if value not in PREFECTURES:
        raise ValueError(f"not a prefecture: {text!r} (e.g. 東京都, 大阪府, 北海道)")
    return value


def code(text: str) -> str:
    value = v.normalise(text)
    if len(value) > 64:
        raise ValueError(f"id longer than 64 characters: {text[:20]!r}…")
    return value


@dataclass(frozen=True)
class Column:
    ja: str
    alias: str  # English header accepted instead of the Japanese one
    field: str | None  # None: accepted, not stored (derived values)
    parse: Callable[[str], object] = v.plain
    required: bool = False  # the column must be there and every row must fill it in
    permission: str | None = None  # an address column's permission flag, which must come with it


def _ignored(ja: str, alias: str) -> Column:
    return Column(ja, alias, None)


def _key(ja: str, alias: str, field: str) -> Column:
    return Column(ja, alias, field, code, required=True)


EMAIL_PERMISSION, LINE_PERMISSION = "メルマガ許可フラグ", "LINE配信許可フラグ"
CHANNEL_BLOCK = (
    Column("メールアドレス(メイン)", "email_main", "email_main", v.email, permission=EMAIL_PERMISSION),
    Column("メールアドレス(サブ)", "email_sub", "email_sub", v.email, permission=EMAIL_PERMISSION),
    Column(EMAIL_PERMISSION, "email_permitted", "email_permitted", v.flag),
    Column("LINE ID", "line_user_id", "line_user_id", line_id, permission=LINE_PERMISSION),
    Column(LINE_PERMISSION, "line_permitted", "line_permitted", v.flag),
    Column("SMS電話番号", "sms_phone", "sms_phone", v.phone, permission="SMS配信許可フラグ"),
    Column("SMS配信許可フラグ", "sms_permitted", "sms_permitted", v.flag),
    Column("FCMトークン", "fcm_token", "fcm_token", permission="アプリpush配信フラグ"),
    Column("アプリpush配信フラグ", "push_permitted", "push_permitted", v.flag),
)
PERSON = (
    Column("性別", "gender", "gender", v.gender),
    Column("年代", "age_band", "age_band"),
    Column("都道府県", "prefecture", "prefecture", prefecture),
)
NAME = (Column("姓", "family_name", "family_name"), Column("名", "given_name", "given_name"))
PRODUCT = (
    Column("商品種別ID", "product_type_code", "product_type_code", code),
    Column("商品種別", "product_type_name", "product_type_name"),
    Column("商品ID", "product_code", "product_code", code),
    Column("商品名", "product_name", "product_name"),
)
CONTRACTED = Column("契約フラグ", "contracted", "contracted", v.flag)
UNIQUE_FLAGS = (
    _ignored("当日 メールアドレスユニークフラグ", "same_day_email_unique"),
    _ignored("当日 SMSユニークフラグ", "same_day_sms_unique"),
    _ignored("当日 LINE IDユニークフラグ", "same_day_line_unique"),
)
CURRENT_PRODUCT = (
    Column("現在契約中の商品種別ID", "current_product_type_code", "current_product_type_code", code),
    Column("現在契約中の商品種別名", "current_product_type_name", "current_product_type_name"),
    Column("現在契約中の商品ID", "current_product_code", "current_product_code", code),
    Column("現在契約中の商品名", "current_product_name", "current_product_name"),
)


@dataclass(frozen=True)
class FileSpec:
    kind: str
    title: str
    aliases: tuple[str, ...]
    columns: tuple[Column, ...]

    @property
    def required(self) -> tuple[str, ...]:
        """The columns every file of this kind carries: its key, and the permission flag of a key that is an
        address (F7's LINE ID)."""
        keys = [c for c in self.columns if c.required]
        return tuple(dict.fromkeys([c.ja for c in keys] + [c.permission for c in keys if c.permission]))

    def missing(self, present: set[str]) -> list[str]:
        """The required columns a header with the columns `present` (Japanese names) lacks, each with why."""
        absent = [c.ja for c in self.columns if c.required and c.ja not in present]
        wanted_by: dict[str, list[str]] = {}
        for column in self.columns:
            if (
                column.permission
                and column.permission not in present
                and (column.required or column.ja in present)
            ):
                wanted_by.setdefault(column.permission, []).append(column.ja)
        return absent + [f"{flag} (the permission for {', '.join(by)})" for flag, by in wanted_by.items()]


F1 = FileSpec(
    "F1",
    "資料請求者向けシナリオ用データ",
    ("document_requests", "資料請求"),
    (
        _key("資料請求ID", "document_request_id", "request_code"),
        *CHANNEL_BLOCK,
        Column("資料ID", "document_id", "document_code", code),
        Column("資料名", "document_name", "document_name"),
        Column("資料請求日", "requested_on", "requested_on", v.day),
        _ignored("資料請求からの経過日数", "days_since_request"),
        *PRODUCT,
        CONTRACTED,
        *PERSON,
        *NAME,
        *UNIQUE_FLAGS,
    ),
)
F2 = FileSpec(
    "F2",
    "見積者向けシナリオ用データ",
    ("quotes", "見積"),
    (
        _key("見積ID", "quote_id", "quote_code"),
        *CHANNEL_BLOCK,
        Column("見積日", "quoted_on", "quoted_on", v.day),
        _ignored("見積からの経過日数", "days_since_quote"),
        *PRODUCT,
        CONTRACTED,
        *PERSON,
        *NAME,
        *UNIQUE_FLAGS,
    ),
)
F3 = FileSpec(
    "F3",
    "来店予約者向けシナリオ用データ",
    ("reservations", "来店予約"),
    (
        _key("来店予約ID", "reservation_id", "reservation_code"),
        *CHANNEL_BLOCK,
        Column("来店予約日", "reserved_on", "reserved_on", v.day),
        _ignored("来店予約からの経過日数", "days_since_reservation"),
        Column("来店予定日", "visit_on", "visit_on", v.day),
        _ignored("来店までの残日数", "days_until_visit"),
        Column("来店フラグ", "visited", "visited", v.flag),
        Column("来店日", "visited_on", "visited_on", v.day),
        _ignored("来店日からの経過日数", "days_since_visit"),
        Column("来店キャンセルフラグ", "cancelled", "cancelled", v.flag),
        Column("来店キャンセル日", "cancelled_on", "cancelled_on", v.day),
        _ignored("来店キャンセルからの経過日数", "days_since_cancellation"),
        Column("来店再予約フラグ", "rebooked", "rebooked", v.flag),
        Column("来店再予約日", "rebooked_on", "rebooked_on", v.day),
        _ignored("来店再予約からの経過日数", "days_since_rebooking"),
        *PRODUCT,
        CONTRACTED,
        *PERSON,
        *NAME,
        Column("店舗ID", "store_id", "store_code", code),
        Column("店舗名", "store_name", "store_name"),
        Column("スタッフID", "staff_id", "staff_code", code),
        Column("スタッフ名", "staff_name", "staff_name"),
        Column("相談内容", "consultation", "consultation"),
        Column("相談のきっかけ", "consultation_trigger", "consultation_trigger"),
        *UNIQUE_FLAGS,
    ),
)
F4 = FileSpec(
    "F4",
    "サイト行動に応じたシナリオ用データ",
    ("page_views", "サイト行動"),
    (
        _key("webアクセスログID", "access_log_id", "log_code"),
        *CHANNEL_BLOCK,
        Column("顧客ID", "customer_id", "customer_code", code),
        Column("ビジターID", "visitor_id", "visitor_id", code),
        CONTRACTED,
        *CURRENT_PRODUCT,
        Column("ページタイトル", "page_title", "page_title"),
        Column("ページURL", "page_url", "page_url"),
        Column("閲覧日時", "viewed_at", "viewed_at", v.timestamp),
        _ignored("閲覧日からの経過日数", "days_since_view"),
        *PERSON,
        *NAME,
    ),
)
F5 = FileSpec(
    "F5",
    "基本シナリオ配信用データ",
    ("customers", "基本"),
    (
        _key("顧客ID", "customer_id", "customer_code"),
        *CHANNEL_BLOCK,
        *PERSON,
        *NAME,
        Column("資料請求フラグ", "document_requested", "document_requested", v.flag),
        Column("初回資料請求日", "first_document_request_on", "first_document_request_on", v.day),
        _ignored("初回資料請求日からの経過日数", "days_since_first_document_request"),
        Column("見積フラグ", "quoted", "quoted", v.flag),
        Column("初回見積日", "first_quote_on", "first_quote_on", v.day),
        _ignored("初回見積日からの経過日数", "days_since_first_quote"),
        Column("生命保険契約フラグ", "life_contracted", "life", v.flag),
        Column("損害保険契約フラグ", "non_life_contracted", "non_life", v.flag),
        CURRENT_PRODUCT[1],
        Column("来店フラグ", "visited", "visited", v.flag),
        CONTRACTED,
        Column("契約ステータス", "contract_status", "status"),
        Column("初回契約開始日", "first_contract_start_on", "first_start_on", v.day),
        _ignored("初回契約開始からの経過日数", "days_since_first_contract_start"),
        Column("契約終了日", "contract_end_on", "end_on", v.day),
        _ignored("契約終了日からの経過日数", "days_since_contract_end"),
        Column("次回契約更新日", "next_renewal_on", "next_renewal_on", v.day),
        _ignored("次回契約更新日までの残日数", "days_until_next_renewal"),
        Column("前回契約更新日", "last_renewal_on", "last_renewal_on", v.day),
        _ignored("前回契約更新日からの経過日数", "days_since_last_renewal"),
        CURRENT_PRODUCT[0],
        Column("初回来店日", "first_visit_on", "first_visit_on", v.day),
        _ignored("初回来店日からの経過日数", "days_since_first_visit"),
        CURRENT_PRODUCT[2],
        CURRENT_PRODUCT[3],
        Column("解約した商品種別ID", "cancelled_product_type_id", "cancelled_product_type_code", code),
        Column("解約した商品種別名", "cancelled_product_type_name", "cancelled_product_type_name"),
        Column("解約した商品ID", "cancelled_product_id", "cancelled_product_code", code),
        Column("解約した商品名", "cancelled_product_name", "cancelled_product_name"),
        Column("累計更新回数", "renewal_count", "renewal_count", v.integer),
        Column("累計支払金額", "total_paid", "total_paid", v.integer),
        Column("メールアドレス取得フラグ", "email_acquired", "email_acquired", v.flag),
        Column("LINEID 利用フラグ", "line_friend", "line_friend", v.flag),
        Column("スマホアプリ利用フラグ", "app_user", "app_user", v.flag),
    ),
)
F6 = FileSpec(
    "F6",
    "キャンペーン特典利用促進シナリオ配信用データ",
    ("campaign_benefits", "キャンペーン特典"),
    (
        _key("顧客ID‐キャンペーンID", "customer_campaign_id", "benefit_code"),
        *CHANNEL_BLOCK,
        Column("顧客ID", "customer_id", "customer_code", code, required=True),
        Column("キャンペーンID", "campaign_id", "campaign_code", code, required=True),
        Column("キャンペーン名", "campaign_name", "campaign_name"),
        Column("キャンペーン付与日", "granted_on", "granted_on", v.day),
        _ignored("キャンペーン付与日からの経過日数", "days_since_grant"),
        Column("キャンペーン利用日", "used_on", "used_on", v.day),
        Column("キャンペーン特典付与フラグ", "granted", "granted", v.flag),
        Column("キャンペーン特典利用フラグ", "used", "used", v.flag),
        *PERSON,
        *NAME,
    ),
)
F7 = FileSpec(
    "F7",
    "LINE連携促進用データ",
    ("line_members", "LINE連携"),
    (
        Column("LINE ID", "line_user_id", "line_user_id", line_id, required=True, permission=LINE_PERMISSION),
        *CHANNEL_BLOCK[:3],
        Column("顧客ID", "customer_id", "customer_code", code),
        CHANNEL_BLOCK[4],
        Column("LINE ID連携フラグ", "line_linked", "line_linked", v.flag),
        Column("LINE会員登録日", "registered_on", "registered_on", v.day),
        _ignored("LINE会員登録からの経過日数", "days_since_registration"),
    ),
)

SPECS = {spec.kind: spec for spec in (F1, F2, F3, F4, F5, F6, F7)}


def find_spec(name: str) -> FileSpec:
    """F1..F7, the file's Japanese title, or an alias (e.g. `customers`, `資料請求`)."""
    wanted = v.normalise(name).lower()
    for spec in SPECS.values():
        if wanted in {spec.kind.lower(), v.normalise(spec.title).lower(), *(a.lower() for a in spec.aliases)}:
            return spec
    choices = ", ".join(f"{s.kind} ({s.title})" for s in SPECS.values())
    raise KeyError(f"unknown data file {name!r}; choose one of {choices}")
