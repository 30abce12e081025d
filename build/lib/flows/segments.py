"""The optional filters (○) each data file offers, by fact name: every SEG column of the deck's file that the
scenario does not already require. An operator picks values for them in the scenario settings file.

Day-count filters (〇〇からの経過日数 = 指定した日数) are not offered: the trigger already fixes the day.
"""

from __future__ import annotations

PERSON = ("customer.gender", "customer.age_band", "customer.prefecture")

F1_DOCUMENT_REQUEST = (
    "document_request.document_code",
    "document_request.product_type_code",
    "document_request.product_code",
    *PERSON,
)
F2_QUOTE = ("quote.product_type_code", "quote.product_code", *PERSON)
F3_RESERVATION = (
    "reservation.store_code",
    "reservation.staff_code",
    "reservation.product_type_code",
    "reservation.product_code",
    "reservation.consultation_trigger",
    *PERSON,
)
F4_PAGE_VIEW = (
    "contract.current_product_type_code",
    "contract.current_product_code",
    "customer.customer_code",
    "customer.visitor_id",
    *PERSON,
)
F5_CUSTOMER = (
    "contract.contracted",
    "contract.status",
    "contract.life",
    "contract.non_life",
    "contract.current_product_type_code",
    "contract.current_product_code",
    "contract.cancelled_product_type_code",
    "contract.cancelled_product_code",
    "contract.renewal_count",
    "contract.total_paid",
    "activity.document_requested",
    "activity.quoted",
    "activity.visited",
    "activity.email_acquired",
    "activity.line_friend",
    "activity.app_user",
    *PERSON,
)
F6_BENEFIT = ("benefit.campaign_code", "customer.customer_code", *PERSON)
F7_LINE_MEMBER = ("customer.customer_code",)


def f5_without(*required: str) -> tuple[str, ...]:
    """F5's filters minus the ones the scenario requires (a required condition is not optional as well)."""
    return tuple(name for name in F5_CUSTOMER if name not in required)
