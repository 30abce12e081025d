"""What each export holds: one row per record changed since a day, in columns named as the insurer's own files name
them, the customer by 顧客ID (and the service's internal number, for a prospect who has none).

No more personal data than the kind needs: no names, phone numbers, email addresses or LINE user ids anywhere; a
service-desk request carries what the customer gave for it (a new address is what an address change is for), a
booking its consultation note. Deliveries carry the message's template and status, never its rendered text nor a provider's error (an
SMTP refusal quotes the address).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, FromClause, Select, func, select

from models import Broadcast, ConsentEvent, Coupon, Customer, Delivery, Reservation, ServiceRequest

CUSTOMERS = Customer.__table__


class Shape(StrEnum):
    """How a value is written: the CSV has only text, so each shape is spelt one way."""

    TEXT = "text"  # as stored; a formula-like start is defused (see bot.exports.csvfile)
    NUMBER = "number"
    TIME = "time"  # Japan time, 2026-12-07 09:30:00
    DATE = "date"  # 2026-12-07
    FLAG = "flag"  # 真 / 偽, as the insurer's files spell them
    JSON = "json"  # a record's details, compact JSON with the Japanese as is


@dataclass(frozen=True)
class Column:
    header: str
    value: ColumnElement
    shape: Shape = Shape.TEXT


@dataclass(frozen=True)
class ExportKind:
    name: str
    title: str  # what staff call it, in Japanese
    columns: tuple[Column, ...]
    source: FromClause
    changed: ColumnElement  # when a record last changed: a row is exported when this is at or after `since`
    order: tuple[ColumnElement, ...]

    def statement(self, since: object) -> Select:
        """The rows changed at or after `since` (a UTC datetime), in a stable order."""
        chosen = [column.value.label(f"c{number}") for number, column in enumerate(self.columns)]
        return select(*chosen).select_from(self.source).where(self.changed >= since).order_by(*self.order)


def _customer(table) -> tuple[Column, Column]:  # type: ignore[no-untyped-def]
    return (
        Column("顧客ID", CUSTOMERS.c.customer_code),
        Column("内部顧客番号", table.c.customer_id, Shape.NUMBER),
    )


def _with_customer(table) -> FromClause:  # type: ignore[no-untyped-def]
    return table.join(CUSTOMERS, CUSTOMERS.c.id == table.c.customer_id)


REQUESTS, BOOKINGS, CONSENTS = ServiceRequest.__table__, Reservation.__table__, ConsentEvent.__table__
COUPONS, DELIVERIES, NOTICES = Coupon.__table__, Delivery.__table__, Broadcast.__table__

KINDS: dict[str, ExportKind] = {
    kind.name: kind
    for kind in (
        ExportKind(
            "requests",
            "サービス受付（住所変更・事故連絡・再発行・苦情など）",
            (
                Column("受付番号", REQUESTS.c.reference),
                *_customer(REQUESTS),
                Column("種別", REQUESTS.c.kind),
                Column("状態", REQUESTS.c.status),
                Column("本人確認済み", REQUESTS.c.verified, Shape.FLAG),
                Column("受付日時", REQUESTS.c.created_at, Shape.TIME),
                Column("更新日時", REQUESTS.c.updated_at, Shape.TIME),
                Column("完了日時", REQUESTS.c.closed_at, Shape.TIME),
                Column("受付内容", REQUESTS.c.details, Shape.JSON),
            ),
            _with_customer(REQUESTS),
            REQUESTS.c.updated_at,
            (REQUESTS.c.id,),
        ),
        ExportKind(
            "bookings",
            "来店予約",
            (
                Column("来店予約ID", BOOKINGS.c.reservation_code),
                *_customer(BOOKINGS),
                Column("来店予約日", BOOKINGS.c.reserved_on, Shape.DATE),
                Column("来店予定日", BOOKINGS.c.visit_on, Shape.DATE),
                Column("来店予定日時", BOOKINGS.c.visit_at, Shape.TIME),
                Column("店舗コード", BOOKINGS.c.store_code),
                Column("担当者コード", BOOKINGS.c.staff_code),
                Column("来店フラグ", BOOKINGS.c.visited, Shape.FLAG),
                Column("来店日", BOOKINGS.c.visited_on, Shape.DATE),
                Column("キャンセルフラグ", BOOKINGS.c.cancelled, Shape.FLAG),
                Column("キャンセル日", BOOKINGS.c.cancelled_on, Shape.DATE),
                Column("再予約フラグ", BOOKINGS.c.rebooked, Shape.FLAG),
                Column("再予約日", BOOKINGS.c.rebooked_on, Shape.DATE),
                Column("商品種別コード", BOOKINGS.c.product_type_code),
                Column("商品コード", BOOKINGS.c.product_code),
                Column("相談内容", BOOKINGS.c.consultation),
                Column("相談のきっかけ", BOOKINGS.c.consultation_trigger),
                Column("契約フラグ", BOOKINGS.c.contracted, Shape.FLAG),
                Column("更新日時", BOOKINGS.c.updated_at, Shape.TIME),
            ),
            _with_customer(BOOKINGS),
            BOOKINGS.c.updated_at,
            (BOOKINGS.c.id,),
        ),
        ExportKind(
            "consents",
            "配信許可の変更履歴",
            (
                Column("履歴番号", CONSENTS.c.id, Shape.NUMBER),
                *_customer(CONSENTS),
                Column("チャネル", CONSENTS.c.channel),
                Column("目的", CONSENTS.c.purpose),
                Column("許可", CONSENTS.c.granted, Shape.FLAG),
                Column("変更日時", CONSENTS.c.occurred_at, Shape.TIME),
                Column("変更元", CONSENTS.c.source),
                Column("証跡ファイル", CONSENTS.c.evidence_file),
                Column("証跡SHA-256", CONSENTS.c.evidence_sha256),
                Column("証跡行", CONSENTS.c.evidence_line, Shape.NUMBER),
                Column("証跡参照", CONSENTS.c.evidence_ref),
            ),
            _with_customer(CONSENTS),
            CONSENTS.c.occurred_at,
            (CONSENTS.c.id,),
        ),
        ExportKind(
            "coupons",
            "クーポンの発行と利用",
            (
                Column("クーポンコード", COUPONS.c.code),
                Column("キャンペーンコード", COUPONS.c.campaign_code),
                *_customer(COUPONS),
                Column("発行回", COUPONS.c.seq, Shape.NUMBER),
                Column("状態", COUPONS.c.status),
                Column("発行日時", COUPONS.c.issued_at, Shape.TIME),
                Column("有効期限", COUPONS.c.expires_at, Shape.TIME),
                Column("利用日時", COUPONS.c.redeemed_at, Shape.TIME),
                Column("利用経路", COUPONS.c.redeemed_via),
            ),
            _with_customer(COUPONS),
            func.coalesce(COUPONS.c.redeemed_at, COUPONS.c.issued_at),  # a redemption is the later change
            (COUPONS.c.id,),
        ),
        ExportKind(
            "deliveries",
            "配信実績（LINE・SMS・メール）",
            (
                Column("配信番号", DELIVERIES.c.id, Shape.NUMBER),
                *_customer(DELIVERIES),
                Column("配信ステップ", DELIVERIES.c.step),
                Column("テンプレート", DELIVERIES.c.template),
                Column("チャネル", DELIVERIES.c.channel),
                Column("目的", DELIVERIES.c.purpose),
                Column("状態", DELIVERIES.c.status),
                Column("予定日時", DELIVERIES.c.due_at, Shape.TIME),
                Column("送信日時", DELIVERIES.c.sent_at, Shape.TIME),
                Column("到達日時", DELIVERIES.c.delivered_at, Shape.TIME),
                Column("開封日時", DELIVERIES.c.opened_at, Shape.TIME),
                Column("クリック日時", DELIVERIES.c.clicked_at, Shape.TIME),
                Column("SMS通数", DELIVERIES.c.segments, Shape.NUMBER),
                Column("費用（円）", DELIVERIES.c.cost_yen, Shape.NUMBER),
                Column("更新日時", DELIVERIES.c.updated_at, Shape.TIME),
            ),
            _with_customer(DELIVERIES),
            DELIVERIES.c.updated_at,
            (DELIVERIES.c.id,),
        ),
        ExportKind(
            "notices",
            "お知らせ（一覧からの送信）の結果",
            (
                Column("お知らせ番号", NOTICES.c.id, Shape.NUMBER),
                Column("お知らせ", NOTICES.c.template),
                Column("一覧の行", DELIVERIES.c.step),
                *_customer(DELIVERIES),
                Column("チャネル", DELIVERIES.c.channel),
                Column("状態", DELIVERIES.c.status),
                Column("送信日時", DELIVERIES.c.sent_at, Shape.TIME),
                Column("到達日時", DELIVERIES.c.delivered_at, Shape.TIME),
                Column("更新日時", DELIVERIES.c.updated_at, Shape.TIME),
            ),
            _with_customer(DELIVERIES).join(
                NOTICES, (NOTICES.c.id == DELIVERIES.c.broadcast_id) & NOTICES.c.list_sha256.is_not(None)
            ),
            DELIVERIES.c.updated_at,
            (DELIVERIES.c.id,),
        ),
    )
}
