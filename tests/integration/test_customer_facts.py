"""A customer's summary facts, computed from their records: each fact over every way it can arrive (F1–F7, the
events API, the chat), read alike by the triggers' SQL, the engine's facts and a broadcast's segment; the
contracts that close earlier requests, quotes and reservations; and an F5 flag its records contradict, said."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from bot.api_events.intake import receive
from bot.customers.derived import per_customer
from bot.customers.facts import CUSTOMERS, Subject, load_facts
from bot.delivery.broadcast_plan import segment
from bot.imports.files import find_spec
from bot.imports.runner import import_file
from bot.scenarios.triggers import sql_condition
from flows.dsl import Anchor, is_true
from models import Customer, DocumentRequest, Quote, Reservation
from tests.integration.chat_helpers import Chat, action_of, emulated_line
from tests.integration.scenario_helpers import write

LINE_A = "U" + "a" * 32
NOW = datetime(2026, 6, 10, 3, 0, tzinfo=UTC)
NAME = {"family_name": "山田", "given_name": "太郎"}
WHO = {"customer_id": "C1"} | NAME  # F4–F7 name the customer by 顧客ID


def imported(kind: str, row: dict[str, str]) -> Callable:
    def arrive(runtime, tmp_path, **_) -> None:
        tmp_path.mkdir(exist_ok=True)
        report = import_file(runtime.engine, find_spec(kind), write(tmp_path / f"{kind}.csv", [row]))
        assert report.committed and not report.rejected, report.lines()

    return arrive


def event(type_: str, data: dict | None = None, customer: dict | None = None) -> Callable:
    def arrive(runtime, tmp_path, **_) -> None:
        body = {
            "type": type_,
            "occurred_at": "2026-06-01T09:30:00+09:00",
            "customer": customer or {"customer_id": "C1"},
            "data": data or {},
        }
        reply = receive(runtime.engine, json.dumps(body).encode(), client="t", key=None, now=NOW)
        assert reply.status == 200, reply.body

    return arrive


def chat_email(runtime, tmp_path, post_webhook, drain) -> None:
    with emulated_line(runtime) as line:
        chat = Chat(runtime, line, post_webhook, drain)
        chat.follow()
        chat.say("メール登録")
        [confirm] = chat.say("taro@example.jp")
        chat.tap(action_of(confirm, "confirm"))


def chat_follow(runtime, tmp_path, post_webhook, drain) -> None:
    with emulated_line(runtime) as line:
        Chat(runtime, line, post_webhook, drain).follow()


EMAIL = {"email_main": "taro@example.jp", "email_permitted": "真"}
PHONE = {"sms_phone": "090-1234-5678", "sms_permitted": "偽"}
# F1–F3 know a prospect by an address: here a phone number without permission, unless the row gives another
F1 = NAME | PHONE | {"document_request_id": "DR1", "requested_on": "2026/05/01"}
F2 = NAME | PHONE | {"quote_id": "Q1", "quoted_on": "2026/05/02"}
F3 = NAME | PHONE | {"reservation_id": "R1", "visit_on": "2026/05/03"}
F4 = {"access_log_id": "L1", "viewed_at": "2026-05-04 10:00:00"}
F7 = {"line_user_id": LINE_A, "line_permitted": "真"}

# {fact: [(how it arrives, the arrival)]}: each fact true after any one of them, and false before
ARRIVALS: dict[str, list[tuple[str, Callable]]] = {
    "activity.email_acquired": [
        ("F1 row with an email", imported("F1", F1 | EMAIL)),
        ("F2 row with an email", imported("F2", F2 | EMAIL)),
        ("F3 row with an email", imported("F3", F3 | EMAIL)),
        ("F4 row with an email", imported("F4", WHO | F4 | EMAIL)),
        ("F5 row with an email", imported("F5", WHO | EMAIL | {"email_acquired": "偽"})),
        ("F5 flag alone", imported("F5", WHO | {"email_acquired": "真"})),
        (
            "F6 row with an email",
            imported("F6", WHO | EMAIL | {"campaign_id": "CP1", "customer_campaign_id": "C1CP1"}),
        ),
        ("events API email_updated", event("email_updated", {"email": "taro@example.jp"})),
        (
            "events API event with an email",
            event("quote_made", {"quote_id": "Q9"}, {"email": "t@example.jp"}),
        ),
        ("the chat's email capture", chat_email),
    ],
    "activity.phone_acquired": [
        ("F1 row with a phone", imported("F1", F1)),
        ("F5 row with a phone", imported("F5", WHO | PHONE)),
        ("events API phone_updated", event("phone_updated", {"phone": "090-1234-5678"})),
    ],
    "activity.line_friend": [
        ("F1 row with a LINE ID", imported("F1", F1 | {"sms_phone": ""} | F7)),
        ("F5 row with a LINE ID", imported("F5", WHO | F7 | {"line_friend": "偽"})),
        ("F5 flag alone", imported("F5", WHO | {"line_friend": "真"})),
        ("F7 LINE member", imported("F7", {"customer_id": "C1"} | F7)),
        ("a friend-add on LINE", chat_follow),
    ],
    "activity.app_user": [
        ("F5 flag", imported("F5", WHO | {"app_user": "真"})),
        ("events API app_login", event("app_login")),
    ],
    "activity.document_requested": [
        ("F1 row", imported("F1", F1)),
        ("F5 flag", imported("F5", WHO | {"document_requested": "真"})),
        ("events API document_requested", event("document_requested", {"document_request_id": "DR9"})),
    ],
    "activity.quoted": [
        ("F2 row", imported("F2", F2)),
        ("F5 flag", imported("F5", WHO | {"quoted": "真"})),
        ("events API quote_made", event("quote_made", {"quote_id": "Q9"})),
    ],
    "activity.visited": [
        ("F3 row visited", imported("F3", F3 | {"visited": "真", "visited_on": "2026/05/03"})),
        ("F5 flag", imported("F5", WHO | {"visited": "真"})),
        ("events API visit_recorded", event("visit_recorded", {"reservation_id": "R9"})),
    ],
    "contract.contracted": [
        ("F1 row contracted", imported("F1", F1 | {"contracted": "真"})),
        ("F2 row contracted", imported("F2", F2 | {"contracted": "真"})),
        ("F3 row contracted", imported("F3", F3 | {"contracted": "真"})),
        ("F4 row contracted", imported("F4", WHO | F4 | {"contracted": "真"})),
        ("F5 flag", imported("F5", WHO | {"contracted": "真"})),
        ("events API contract_signed", event("contract_signed")),
    ],
}
CASES = [(fact, name, arrive) for fact, arrivals in ARRIVALS.items() for name, arrive in arrivals]


def readings(runtime, fact: str) -> dict[str, dict[int, bool]]:
    """{reader: {customer id: whether the fact holds}} as the triggers, the engine and a broadcast read it."""
    with runtime.engine.connect() as connection:
        everyone = list(connection.execute(select(Customer.id)).scalars())
        day = date(2026, 6, 10)
        holding = select(CUSTOMERS.c.id).select_from(per_customer()).where(sql_condition(is_true(fact), day))
        triggers = set(connection.execute(holding).scalars())
        subjects = [Subject(i, i, Anchor.OCCURRENCE, "occurrence:2026-06-10") for i in everyone]
        engine = load_facts(connection, subjects, [fact])
        broadcast = set(connection.execute(segment({fact: True})).scalars())
    return {
        "triggers": {i: i in triggers for i in everyone},
        "engine": {i: engine[i][fact] is True for i in everyone},
        "broadcast": {i: i in broadcast for i in everyone},
    }


@pytest.mark.parametrize(("fact", "source", "arrive"), CASES, ids=[f"{f}:{s}" for f, s, _ in CASES])
def test_each_fact_holds_whichever_way_it_arrives(
    runtime, tmp_path, post_webhook, drain, fact, source, arrive
):
    """Nothing before; after the arrival, the customer it concerns has the fact, in every reader alike."""
    imported("F5", {"customer_id": "OTHER", "family_name": "佐藤", "given_name": "花子"})(
        runtime, tmp_path / "x"
    )
    before = readings(runtime, fact)
    assert all(not held for reader in before.values() for held in reader.values()), before
    arrive(runtime, tmp_path, post_webhook=post_webhook, drain=drain)
    after = readings(runtime, fact)
    assert after["triggers"] == after["engine"] == after["broadcast"], after
    assert sorted(after["engine"].values()) == [False, True], f"{source}: {after}"


def first_dates(runtime) -> tuple:
    with runtime.engine.connect() as connection:
        facts = ["activity.first_document_request_on", "activity.first_quote_on", "activity.first_visit_on"]
        (customer_id,) = connection.execute(select(Customer.id)).scalars()
        found = load_facts(connection, [Subject(1, customer_id, Anchor.OCCURRENCE, "x")], facts)[1]
    return tuple(found[f] for f in facts)


def test_first_dates_are_the_earlier_of_the_f5_date_and_the_records(runtime, tmp_path):
    imported("F1", F1)(runtime, tmp_path)
    imported("F2", F2)(runtime, tmp_path)
    imported("F3", F3 | {"visited": "真", "visited_on": "2026/05/03"})(runtime, tmp_path)
    assert first_dates(runtime) == (date(2026, 5, 1), date(2026, 5, 2), date(2026, 5, 3))
    f5 = {"first_document_request_on": "2026/04/01", "first_quote_on": "2026/06/01", "first_visit_on": ""}
    imported("F5", WHO | PHONE | f5)(runtime, tmp_path)
    assert first_dates(runtime) == (date(2026, 4, 1), date(2026, 5, 2), date(2026, 5, 3))


def test_an_f5_cancellation_stands_against_older_contracted_records(runtime, tmp_path):
    """F5's 契約フラグ = 偽 after a cancellation is the contract's standing, whatever a request once said."""
    imported("F1", F1 | {"contracted": "真"})(runtime, tmp_path)
    assert list(readings(runtime, "contract.contracted")["engine"].values()) == [True]
    imported("F5", WHO | PHONE | {"contracted": "偽"})(runtime, tmp_path)
    assert list(readings(runtime, "contract.contracted")["engine"].values()) == [False]


def contracted(runtime) -> dict[str, bool]:
    with runtime.engine.connect() as connection:
        return {
            code: flag is True
            for model, key in (
                (DocumentRequest, "request_code"),
                (Quote, "quote_code"),
                (Reservation, "reservation_code"),
            )
            for code, flag in connection.execute(select(getattr(model, key), model.contracted))
        }


def test_a_contract_closes_the_earlier_records_of_its_product_type(runtime, tmp_path):
    """A contract for 自動車 (from F5 or the events API) marks the earlier 自動車 request, quote and reservation
    and those of an unknown type; a 生命 quote and a request made after the contract stay open."""
    car, life = {"product_type_code": "CAR"}, {"product_type_code": "LIFE"}
    for kind, row in (
        ("F1", F1 | car),
        ("F1", F1 | car | {"document_request_id": "DR2", "requested_on": "2026/06/20"}),  # after the contract
        ("F2", F2),  # of no known type
        ("F2", F2 | life | {"quote_id": "Q2"}),
        ("F3", F3 | car),
    ):
        imported(kind, row)(runtime, tmp_path)
    assert not any(contracted(runtime).values())
    report = import_file(
        runtime.engine,
        find_spec("F5"),
        write(
            tmp_path / "f5.csv",
            [
                WHO
                | PHONE
                | {
                    "contracted": "真",
                    "current_product_type_code": "CAR",
                    "first_contract_start_on": "2026/06/01",
                }
            ],
        ),
    )
    assert contracted(runtime) == {"DR1": True, "DR2": False, "Q1": True, "Q2": False, "R1": True}
    assert "  document requests: 0 new, 1 updated, 0 unchanged" in report.lines()
    assert "  quotes: 0 new, 1 updated, 0 unchanged" in report.lines()


def test_a_contracted_reservation_closes_the_request_before_it(runtime, tmp_path):
    """No F5 at all: an F3 reservation 契約フラグ = 真 closes the same customer's earlier request (#1 stops)."""
    imported("F1", F1 | {"product_type_code": "CAR"})(runtime, tmp_path)
    imported("F3", F3 | {"product_type_code": "CAR", "contracted": "真"})(runtime, tmp_path)
    assert contracted(runtime) == {"DR1": True, "R1": True}


def test_an_f5_flag_its_records_contradict_is_counted_in_the_summary(runtime, tmp_path):
    imported("F1", F1 | EMAIL | F7)(runtime, tmp_path)
    report = import_file(
        runtime.engine,
        find_spec("F5"),
        write(
            tmp_path / "f5.csv",
            [WHO | PHONE | {"email_acquired": "偽", "line_friend": "偽", "app_user": "偽"}],
        ),
    )
    lines = report.lines()
    assert any(line.strip().startswith("メールアドレス取得フラグ: 1 rows say 偽") for line in lines), lines
    assert any(line.strip().startswith("LINEID 利用フラグ: 1 rows say 偽") for line in lines), lines
    assert not any("スマホアプリ利用フラグ" in line for line in lines), lines
    assert list(readings(runtime, "activity.email_acquired")["engine"].values()) == [True]


def test_a_link_a_file_reports_is_dated_by_the_import_and_loses_the_date_when_withdrawn(runtime, tmp_path):
    """The dashboard's linked-IDs curve counts from `line_linked_at`: an F7 link has the import's date."""
    from models import CustomerChannels

    def linked_at():
        with runtime.engine.connect() as connection:
            return connection.execute(select(CustomerChannels.line_linked_at)).scalar_one()

    imported("F7", {"customer_id": "C1"} | F7 | {"line_linked": "真"})(runtime, tmp_path / "a")
    first = linked_at()
    assert first is not None
    imported("F7", {"customer_id": "C1"} | F7 | {"line_linked": "真"})(runtime, tmp_path / "b")
    assert linked_at() == first  # a re-import keeps the day the link was first reported
    imported("F7", {"customer_id": "C1"} | F7 | {"line_linked": "偽"})(runtime, tmp_path / "c")
    assert linked_at() is None
