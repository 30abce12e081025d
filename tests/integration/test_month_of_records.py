"""A month of every scenario over F1–F4 rows alone (no F5): nobody enters a scenario whose segment their own
records contradict. The prospect of the report: a 資料請求 row with an email address and メルマガ許可 used to
enter #20 (「メールアドレスをご登録ください」 on LINE) on the 1st, and that message's daily cap held back their #1."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from bot.customers.facts import Subject, load_facts
from flows.dsl import Op
from flows.engine import TOKYO, all_hold, japan_day
from models import Customer, Delivery, Enrollment
from tests.integration.scenario_helpers import load, run, write

START = datetime(2026, 6, 1, 0, 0, tzinfo=TOKYO)  # #20 asks for an email address on the 1st at 10:00
LINE_1, LINE_2, LINE_3 = "U" + "1" * 32, "U" + "2" * 32, "U" + "3" * 32


def contact(code: str, **given: str) -> dict[str, str]:
    """The channel block of an F1–F4 row, each address with its permission; 名 = the test's name for them."""
    return {
        "email_main": given.get("email", ""),
        "email_permitted": "真" if given.get("email") else "偽",
        "line_user_id": given.get("line", ""),
        "line_permitted": "真" if given.get("line") else "偽",
        "sms_phone": given.get("sms", ""),
        "sms_permitted": "真" if given.get("sms") else "偽",
        "family_name": "山田",
        "given_name": code,
    }


def request(
    code: str, day: str, product: str = "CAR", contracted: str = "偽", **given: str
) -> dict[str, str]:
    return contact(code, **given) | {
        "document_request_id": f"DR-{code}-{day}",
        "requested_on": day,
        "product_type_code": product,
        "contracted": contracted,
    }


def quote(code: str, day: str, product: str = "CAR", contracted: str = "偽", **given: str) -> dict[str, str]:
    return contact(code, **given) | {
        "quote_id": f"Q-{code}-{day}",
        "quoted_on": day,
        "product_type_code": product,
        "contracted": contracted,
    }


def visit(code: str, day: str, product: str = "CAR", contracted: str = "偽", **given: str) -> dict[str, str]:
    return contact(code, **given) | {
        "reservation_id": f"R-{code}-{day}",
        "reserved_on": "2026/05/20",
        "visit_on": day,
        "visited": "真",
        "visited_on": day,
        "cancelled": "偽",
        "product_type_code": product,
        "contracted": contracted,
    }


def view(code: str, at: str, contracted: str = "偽", **given: str) -> dict[str, str]:
    return contact(code, **given) | {
        "access_log_id": f"L-{code}-{at[:10]}",
        "customer_id": f"K-{code}",
        "contracted": contracted,
        "page_title": "自動車保険の保障内容",
        "page_url": "https://www.example.jp/products/car",
        "viewed_at": at,
    }


def test_a_month_over_f1_to_f4_alone_enrols_nobody_their_records_contradict(runtime, tmp_path):
    mail = {"email": "mail@example.jp", "line": LINE_3}  # on LINE too: #20 would have asked there
    load(
        runtime,
        "F1",
        write(
            tmp_path / "f1.csv",
            [
                request("mail", "2026/05/31", **mail),  # #1 on 1 June 19:00; has an email: never #20
                request("on_line", "2026/06/03", line=LINE_1),  # a LINE friend on file: never #22
                request("phone", "2026/06/04", sms="090-1111-2222"),  # no email: #20 by SMS is right
                request("signed", "2026/06/05", email="signed@example.jp"),  # contracts at the visit below
                request("other_type", "2026/06/05", product="LIFE", email="other@example.jp"),
            ],
        ),
    )
    load(
        runtime,
        "F2",
        write(
            tmp_path / "f2.csv", [quote("quoted", "2026/06/06", email="quoted@example.jp", contracted="真")]
        ),
    )
    load(
        runtime,
        "F3",
        write(
            tmp_path / "f3.csv",
            [
                visit("signed", "2026/06/08", email="signed@example.jp", contracted="真"),
                visit("other_type", "2026/06/08", email="other@example.jp", contracted="真"),  # CAR, not LIFE
                visit("visitor", "2026/06/09", line=LINE_2),
            ],
        ),
    )
    load(
        runtime,
        "F4",
        write(
            tmp_path / "f4.csv",
            [
                view("browser", "2026-06-10 12:00:00", email="browser@example.jp"),
                view("customer", "2026-06-10 12:00:00", email="customer@example.jp", contracted="真"),
            ],
        ),
    )
    scenarios = runtime.settings.scenarios
    run(runtime, scenarios, START, 30)

    with runtime.engine.connect() as connection:
        names = dict(connection.execute(select(Customer.id, Customer.given_name)).all())
        enrollments = connection.execute(
            select(
                Enrollment.id,
                Enrollment.scenario_id,
                Enrollment.customer_id,
                Enrollment.anchor_key,
                Enrollment.entered_at,
            )
        ).all()
        contradicted = []
        for enrollment in enrollments:
            scenario = scenarios[enrollment.scenario_id]
            segment = tuple(c for c in scenario.segment if c.op not in (Op.DAYS_SINCE, Op.DAYS_UNTIL))
            subject = Subject(enrollment.id, enrollment.customer_id, scenario.anchor, enrollment.anchor_key)
            facts = load_facts(connection, [subject], [c.fact for c in segment])[enrollment.id]
            if not all_hold(segment, facts, japan_day(enrollment.entered_at)):
                contradicted.append((names[enrollment.customer_id], scenario.id, facts))
        entered = {(names[e.customer_id], e.scenario_id) for e in enrollments}
        first = connection.execute(
            select(Delivery.due_at, Delivery.step)
            .join(Enrollment, Enrollment.id == Delivery.enrollment_id)
            .where(
                Enrollment.scenario_id == "doc_request_followup", Delivery.customer_id == _id(names, "mail")
            )
            .order_by(Delivery.due_at)
            .limit(1)
        ).one()

    assert contradicted == []
    who = {name for name, scenario in entered if scenario == "email_capture"}
    assert "phone" in who and not who & {"mail", "signed", "other_type", "quoted", "browser", "customer"}
    assert not {name for name, scenario in entered if scenario == "line_friend_promotion"} & {
        "on_line",
        "visitor",
    }
    # the contracted visit closed the CAR request before it (#1 never starts), not the LIFE one
    assert ("signed", "doc_request_followup") not in entered
    assert ("other_type", "doc_request_followup") in entered
    assert ("quoted", "quote_followup") not in entered
    assert ("customer", "site_browser_followup") not in entered and (
        "browser",
        "site_browser_followup",
    ) in entered
    # #1's first message on its day, not held back by a #20 message the same day
    assert first.due_at.astimezone(TOKYO).strftime("%m-%d %H:%M") == "06-01 19:00"


def _id(names: dict[int, str], name: str) -> int:
    return next(i for i, n in names.items() if n == name)
