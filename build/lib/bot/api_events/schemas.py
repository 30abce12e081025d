"""The JSON Schemas (Draft 2020-12) of the events the insurer's systems push, as data.

The validator and the OpenAPI description (`docs/openapi/ingest-api.yml`, generated from this module) read
the same dicts, so what is documented is what is checked. `data` field names are the English column names
of the data files (F1–F6); dates are ISO 8601 days in Japan. Day counts (経過日数, 残日数) are never
accepted: they are derived from the dates.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]
MAX_BATCH_EVENTS = 500


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _text(description: str, max_length: int = 128) -> Schema:
    return {"type": "string", "minLength": 1, "maxLength": max_length, "description": description}


def _code(description: str) -> Schema:
    return ref("Code") | {"description": description}


def _day(description: str) -> Schema:
    return ref("Date") | {"description": description}


def _flag(description: str) -> Schema:
    return {"type": "boolean", "description": description}


def _count(description: str) -> Schema:
    return {"type": "integer", "minimum": 0, "description": description}


def _object(properties: dict[str, Schema], required: tuple[str, ...] = (), description: str = "") -> Schema:
    schema: Schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    return schema | ({"description": description} if description else {})


ON_OCCURRED_DAY = "; default: the day (in Japan) of `occurred_at`"
PRODUCT = {
    "product_type_code": _code("商品種別ID"),
    "product_type_name": _text("商品種別"),
    "product_code": _code("商品ID"),
    "product_name": _text("商品名"),
}
CURRENT_PRODUCT = {
    "current_product_type_code": _code("現在契約中の商品種別ID"),
    "current_product_type_name": _text("現在契約中の商品種別名"),
    "current_product_code": _code("現在契約中の商品ID"),
    "current_product_name": _text("現在契約中の商品名"),
}
CONTRACTED = {"contracted": _flag("契約フラグ: the person has (since) contracted")}
STORE = {
    "store_id": _code("店舗ID"),
    "store_name": _text("店舗名"),
    "staff_id": _code("スタッフID"),
    "staff_name": _text("スタッフ名"),
}
CONSULTATION = {
    "consultation": _text("相談内容", 2000),
    "consultation_trigger": _text("相談のきっかけ", 2000),
}
CONTRACT_TERMS = {
    "contract_status": _text("契約ステータス", 32),
    "contract_end_on": _day("契約終了日"),
    "next_renewal_on": _day("次回契約更新日"),
    "total_paid": _count("累計支払金額 (yen)"),
    "life_contracted": _flag("生命保険契約フラグ"),
    "non_life_contracted": _flag("損害保険契約フラグ"),
}
DATE_TIME_PATTERN = (
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]+)?)?(Z|[+-][0-9]{2}:[0-9]{2})$"
)
EMAIL = {"type": "string", "format": "email", "maxLength": 254}
PHONE = {"type": "string", "minLength": 1, "maxLength": 32}
IDENTITIES = ("customer_id", "email", "line_user_id", "phone", "visitor_id")
RESERVATION_ID = {"reservation_id": _code("来店予約ID: the reservation this event is about")}

BUILDING_BLOCKS: dict[str, Schema] = {
    "Code": {
        "type": "string",
        "minLength": 1,
        "maxLength": 64,
        "description": "An id from the insurer's systems",
    },
    "Date": {
        "type": "string",
        "format": "date",
        "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
        "description": "ISO 8601 day (YYYY-MM-DD), in Japan",
    },
    "DateTime": {
        "type": "string",
        "format": "date-time",
        "pattern": DATE_TIME_PATTERN,
        "description": "ISO 8601 date and time with a UTC offset, e.g. 2024-06-10T09:30:00+09:00",
    },
    "Customer": _object(
        {
            "customer_id": _code("顧客ID (policyholders)"),
            "visitor_id": _code("ビジターID (web visitor)"),
            "email": EMAIL | {"description": "メールアドレス(メイン)"},
            "line_user_id": {"type": "string", "pattern": "^U[0-9a-f]{32}$", "description": "LINE ID"},
            "phone": PHONE | {"description": "SMS電話番号 (stored as E.164)"},
            "family_name": _text("姓", 64),
            "given_name": _text("名", 64),
            "gender": {"type": "string", "enum": ["male", "female", "other"], "description": "性別"},
            "age_band": _text("年代, e.g. 30代", 16),
            "prefecture": _text("都道府県, e.g. 東京都", 8),
            "email_permitted": _flag("メルマガ許可フラグ"),
            "line_permitted": _flag("LINE配信許可フラグ"),
            "sms_permitted": _flag("SMS配信許可フラグ"),
            "push_permitted": _flag("アプリpush配信フラグ"),
        },
        description="Who the event is about: found by 顧客ID, else by LINE ID, email, phone or visitor id (in "
        "that order); someone not known yet becomes a new customer. Other fields update what is "
        "known.",
    )
    | {
        "anyOf": [{"required": [name]} for name in IDENTITIES],
    },
    "Policyholder": {
        "allOf": [ref("Customer")],
        "required": ["customer_id"],
        "description": "A customer identified by 顧客ID (contracts and campaign benefits)",
    },
}

# Per event type: (customer schema, data schema). The data schema's name is derived from the type.
EVENT_DATA: dict[str, tuple[str, Schema]] = {
    "document_requested": (
        "Customer",
        _object(
            {
                "document_request_id": _code("資料請求ID"),
                "document_id": _code("資料ID"),
                "document_name": _text("資料名"),
                "requested_on": _day("資料請求日" + ON_OCCURRED_DAY),
                **PRODUCT,
                **CONTRACTED,
            },
            ("document_request_id",),
            "資料請求: a brochure was requested (a row of F1)",
        ),
    ),
    "quote_made": (
        "Customer",
        _object(
            {
                "quote_id": _code("見積ID"),
                "quoted_on": _day("見積日" + ON_OCCURRED_DAY),
                **PRODUCT,
                **CONTRACTED,
            },
            ("quote_id",),
            "見積: a quote was made (a row of F2)",
        ),
    ),
    "reservation_made": (
        "Customer",
        _object(
            {
                **RESERVATION_ID,
                "reserved_on": _day("来店予約日" + ON_OCCURRED_DAY),
                "visit_on": _day("来店予定日"),
                **STORE,
                **CONSULTATION,
                **PRODUCT,
                **CONTRACTED,
            },
            ("reservation_id", "visit_on"),
            "来店予約: a store visit was booked (a row of F3)",
        ),
    ),
    "reservation_cancelled": (
        "Customer",
        _object(
            {
                **RESERVATION_ID,
                "cancelled_on": _day("来店キャンセル日" + ON_OCCURRED_DAY),
            },
            ("reservation_id",),
            "来店キャンセル: sets 来店キャンセルフラグ on the reservation",
        ),
    ),
    "reservation_rescheduled": (
        "Customer",
        _object(
            {
                **RESERVATION_ID,
                "visit_on": _day("the new 来店予定日"),
                "rebooked_on": _day("来店再予約日" + ON_OCCURRED_DAY),
                **STORE,
            },
            ("reservation_id", "visit_on"),
            "来店再予約: sets 来店再予約フラグ and the new visit day",
        ),
    ),
    "visit_recorded": (
        "Customer",
        _object(
            {
                **RESERVATION_ID,
                "visited_on": _day("来店日" + ON_OCCURRED_DAY),
                **STORE,
                **CONSULTATION,
                **PRODUCT,
                **CONTRACTED,
            },
            ("reservation_id",),
            "来店: the customer came to the store; sets 来店フラグ on the reservation",
        ),
    ),
    "contract_signed": (
        "Policyholder",
        _object(
            {
                **CONTRACT_TERMS,
                "first_contract_start_on": _day("初回契約開始日"),
                **CURRENT_PRODUCT,
            },
            (),
            "契約: sets 契約フラグ and the contract columns of F5 that are given",
        ),
    ),
    "contract_cancelled": (
        "Policyholder",
        _object(
            {
                "contracted": _flag("契約フラグ: whether the customer still holds a contract"),
                **CONTRACT_TERMS,
                "cancelled_product_type_id": _code("解約した商品種別ID"),
                "cancelled_product_type_name": _text("解約した商品種別名"),
                "cancelled_product_id": _code("解約した商品ID"),
                "cancelled_product_name": _text("解約した商品名"),
                **CURRENT_PRODUCT,
            },
            ("contracted",),
            "解約: the cancelled product and what remains (F5 columns)",
        ),
    ),
    "contract_renewed": (
        "Policyholder",
        _object(
            {
                "last_renewal_on": _day("前回契約更新日: this renewal" + ON_OCCURRED_DAY),
                "renewal_count": _count("累計更新回数 including this renewal"),
                **CONTRACT_TERMS,
                **CURRENT_PRODUCT,
            },
            (),
            "契約更新: sets 契約フラグ, 前回契約更新日 and the F5 columns given",
        ),
    ),
    "page_viewed": (
        "Customer",
        _object(
            {
                "access_log_id": _code("webアクセスログID"),
                "page_url": {
                    "type": "string",
                    "format": "uri",
                    "minLength": 1,
                    "maxLength": 2048,
                    "description": "ページURL",
                },
                "page_title": _text("ページタイトル", 512),
                "viewed_at": ref("DateTime") | {"description": "閲覧日時; default: `occurred_at`"},
                **CONTRACTED,
                **CURRENT_PRODUCT,
            },
            ("access_log_id", "page_url"),
            "webアクセスログ: a page of the insurer's site was viewed (F4)",
        ),
    ),
    "benefit_granted": (
        "Policyholder",
        _object(
            {
                "campaign_id": _code("キャンペーンID"),
                "campaign_name": _text("キャンペーン名"),
                "granted_on": _day("キャンペーン付与日" + ON_OCCURRED_DAY),
            },
            ("campaign_id",),
            "キャンペーン特典付与: a campaign benefit was granted (F6)",
        ),
    ),
    "benefit_used": (
        "Policyholder",
        _object(
            {
                "campaign_id": _code("キャンペーンID"),
                "campaign_name": _text("キャンペーン名"),
                "used_on": _day("キャンペーン利用日" + ON_OCCURRED_DAY),
            },
            ("campaign_id",),
            "キャンペーン特典利用: the benefit was used (F6)",
        ),
    ),
    "app_login": (
        "Customer",
        _object({}, (), "アプリログイン: sets スマホアプリ利用フラグ and the last login time"),
    ),
    "email_updated": (
        "Customer",
        _object(
            {
                "email": EMAIL | {"description": "the new メールアドレス(メイン)"},
            },
            ("email",),
            "メールアドレス変更: the new main email; sets メールアドレス取得フラグ",
        ),
    ),
    "phone_updated": (
        "Customer",
        _object(
            {
                "phone": PHONE | {"description": "the new SMS電話番号"},
            },
            ("phone",),
            "SMS電話番号変更: the new phone number (stored as E.164)",
        ),
    ),
    "opted_out": (
        "Customer",
        _object(
            {
                "channel": {
                    "type": "string",
                    "enum": ["email", "line", "sms", "push", "all"],
                    "description": "the channel opted out of, or all of them",
                },
                "purpose": {"type": "string", "enum": ["marketing"], "description": "default marketing"},
            },
            ("channel",),
            "配信停止: no more marketing on a channel; recorded in the consent history",
        ),
    ),
}
EVENT_TYPES = tuple(EVENT_DATA)


def schema_name(event_type: str, part: str = "Event") -> str:
    """`document_requested` → `DocumentRequestedEvent` (or `DocumentRequestedData`)."""
    return "".join(word.title() for word in event_type.split("_")) + part


def _event(event_type: str, customer: str) -> Schema:
    return _object(
        {
            "type": {"const": event_type},
            "occurred_at": ref("DateTime") | {"description": "When it happened"},
            "customer": ref(customer),
            "data": ref(schema_name(event_type, "Data")),
        },
        ("type", "occurred_at", "customer", "data"),
    )


SCHEMAS: dict[str, Schema] = {
    **BUILDING_BLOCKS,
    "EventType": {"type": "string", "enum": list(EVENT_TYPES)},
    "Event": {
        "oneOf": [ref(schema_name(t)) for t in EVENT_TYPES],
        "discriminator": {
            "propertyName": "type",
            "mapping": {t: ref(schema_name(t))["$ref"] for t in EVENT_TYPES},
        },
    },
    "EventBatch": _object(
        {"events": {"type": "array", "minItems": 1, "maxItems": MAX_BATCH_EVENTS, "items": ref("Event")}},
        ("events",),
        "Several events written together: all of them or none",
    ),
    **{schema_name(t): _event(t, customer) for t, (customer, _) in EVENT_DATA.items()},
    **{schema_name(t, "Data"): data for t, (_, data) in EVENT_DATA.items()},
}
