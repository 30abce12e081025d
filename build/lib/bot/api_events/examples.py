"""One example per event type, as the insurer's systems would send it: shown in the OpenAPI description and
pushed by the tests, so every documented example is one the service accepts."""

from __future__ import annotations

from typing import Any

PROSPECT = {
    "email": "taro.yamada@example.com",
    "phone": "090-1234-5678",
    "family_name": "山田",
    "given_name": "太郎",
    "email_permitted": True,
}
VISITOR = {"phone": "09012345678"}  # known by the phone they booked with
HOLDER = {"customer_id": "C0001"}
CAR = {
    "product_type_code": "PT03",
    "product_type_name": "自動車保険",
    "product_code": "P031",
    "product_name": "ネット自動車保険",
}
CURRENT_CAR = {f"current_{name}": value for name, value in CAR.items()}


def _event(type_: str, occurred_at: str, customer: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    return {"type": type_, "occurred_at": occurred_at, "customer": customer, "data": data}


EXAMPLES: dict[str, dict[str, Any]] = {
    "document_requested": _event(
        "document_requested",
        "2024-06-10T21:15:00+09:00",
        PROSPECT,
        {
            "document_request_id": "DR0001",
            "document_id": "D01",
            "document_name": "自動車保険パンフレット",
            **CAR,
        },
    ),
    "quote_made": _event(
        "quote_made", "2024-06-11T12:00:00+09:00", {"email": PROSPECT["email"]}, {"quote_id": "QT0001", **CAR}
    ),
    "reservation_made": _event(
        "reservation_made",
        "2024-06-12T10:00:00+09:00",
        VISITOR,
        {
            "reservation_id": "RV0001",
            "visit_on": "2024-06-20",
            "store_id": "S001",
            "store_name": "新宿店",
            "staff_id": "ST01",
            "staff_name": "佐藤 花子",
            "consultation": "自動車保険の見直し",
            "consultation_trigger": "車の買い替え",
        },
    ),
    "reservation_cancelled": _event(
        "reservation_cancelled", "2024-06-15T18:30:00+09:00", VISITOR, {"reservation_id": "RV0001"}
    ),
    "reservation_rescheduled": _event(
        "reservation_rescheduled",
        "2024-06-16T09:00:00+09:00",
        VISITOR,
        {"reservation_id": "RV0001", "visit_on": "2024-06-27"},
    ),
    "visit_recorded": _event(
        "visit_recorded", "2024-06-27T11:05:00+09:00", VISITOR, {"reservation_id": "RV0001"}
    ),
    "contract_signed": _event(
        "contract_signed",
        "2024-06-28T15:00:00+09:00",
        HOLDER,
        {
            "contract_status": "契約中",
            "first_contract_start_on": "2024-07-01",
            "next_renewal_on": "2025-07-01",
            "non_life_contracted": True,
            **CURRENT_CAR,
        },
    ),
    "contract_renewed": _event(
        "contract_renewed",
        "2025-07-01T09:00:00+09:00",
        HOLDER,
        {"renewal_count": 1, "next_renewal_on": "2026-07-01"},
    ),
    "contract_cancelled": _event(
        "contract_cancelled",
        "2026-03-31T17:00:00+09:00",
        HOLDER,
        {
            "contracted": False,
            "contract_status": "解約",
            "contract_end_on": "2026-03-31",
            "cancelled_product_type_id": "PT03",
            "cancelled_product_id": "P031",
        },
    ),
    "page_viewed": _event(
        "page_viewed",
        "2024-08-01T09:30:00+09:00",
        {"visitor_id": "V0001"},
        {
            "access_log_id": "WL0001",
            "page_url": "https://www.example-insurance.jp/mypage/cancel",
            "page_title": "解約手続き",
        },
    ),
    "benefit_granted": _event(
        "benefit_granted",
        "2024-08-02T10:00:00+09:00",
        HOLDER,
        {"campaign_id": "CP001", "campaign_name": "新規契約キャンペーン"},
    ),
    "benefit_used": _event("benefit_used", "2024-08-09T14:20:00+09:00", HOLDER, {"campaign_id": "CP001"}),
    "app_login": _event("app_login", "2024-08-10T07:45:00+09:00", HOLDER, {}),
    "email_updated": _event(
        "email_updated", "2024-08-11T20:00:00+09:00", HOLDER, {"email": "taro@example.jp"}
    ),
    "phone_updated": _event("phone_updated", "2024-08-12T20:00:00+09:00", HOLDER, {"phone": "080-9876-5432"}),
    "opted_out": _event("opted_out", "2024-08-13T22:10:00+09:00", HOLDER, {"channel": "email"}),
}
