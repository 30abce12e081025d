"""POST /api/v1/events: bearer tokens, field-level 422s, what each event type writes, Idempotency-Key replays
and all-or-nothing batches, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import logging
import threading
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import Session, SQLModel

from bot.api_events.examples import EXAMPLES
from bot.api_events.intake import receive, write_events
from bot.api_events.rows import to_events
from bot.api_events.validation import check_body
from handlers.ingest_api import MAX_BODY_BYTES
from models import (
    ApiRequest,
    Campaign,
    CampaignBenefit,
    ConsentEvent,
    ContractSummary,
    Customer,
    CustomerActivity,
    CustomerChannels,
    Document,
    DocumentRequest,
    PageView,
    ProductType,
    Quote,
    Reservation,
    Store,
)
from tests.integration.conftest import API_TOKEN

LINE_A = "U" + "a" * 32
AT = "2024-06-10T09:30:00+09:00"
TARO = {"email": "taro.yamada@example.com"}


def event(type_: str, data: dict | None = None, customer: dict | None = None, occurred_at: str = AT) -> dict:
    return {"type": type_, "occurred_at": occurred_at, "customer": customer or TARO, "data": data or {}}


def all_rows(runtime, model) -> list:
    with Session(runtime.engine) as session:
        return list(session.execute(select(model).order_by(*model.__table__.primary_key.columns)).scalars())


def one(runtime, model):
    (row,) = all_rows(runtime, model)
    return row


def count(runtime, model) -> int:
    with Session(runtime.engine) as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def snapshot(runtime) -> dict[str, list[tuple]]:
    with runtime.engine.connect() as connection:
        return {
            table.name: sorted(map(tuple, connection.execute(table.select())), key=repr)
            for table in SQLModel.metadata.sorted_tables
        }


def paths(response) -> set[str]:
    return {field["path"] for field in response.get_json()["fields"]}


def accepted(response, events: int = 1) -> bool:
    return response.status_code == 200 and response.get_json() == {"status": "accepted", "events": events}


# --- who may call ------------------------------------------------------------------------------------------


def test_missing_token_is_refused(push, runtime):
    """No Authorization header: 401 with a Bearer challenge, and nothing is written."""
    response = push(event("app_login"), token=None)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="ingest-api"'
    assert count(runtime, Customer) == 0


def test_wrong_token_is_refused(push, runtime):
    """A token that is not configured (or another scheme) gets 401 with error="invalid_token"."""
    for token in ("guess", API_TOKEN + "x", ""):
        response = push(event("app_login"), token=token)
        assert response.status_code == 401, token
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert count(runtime, Customer) == 0


def test_no_configured_tokens_closes_the_api(client, runtime):
    """With INGEST_API_TOKENS empty (the default) every request is refused, whatever token it carries."""
    assert runtime.settings.ingest_api_tokens == []
    for header in (f"Bearer {API_TOKEN}", "Bearer ", "Bearer x"):
        response = client.post("/api/v1/events", json=event("app_login"), headers={"Authorization": header})
        assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
    assert count(runtime, Customer) == 0


# --- what is refused ------------------------------------------------------------------------------------------


def test_schema_errors_name_each_field(push, runtime):
    """A reservation without its id, with an unknown field and a non-ISO date: 422 listing each path."""
    response = push(event("reservation_made", {"visit_on": "2024/06/20", "colour": "red"}))
    assert response.status_code == 422
    assert response.get_json()["error"] == "invalid event"
    assert paths(response) == {"data.reservation_id", "data.visit_on", "data.colour"}
    assert count(runtime, Reservation) == 0


def test_unknown_type_and_missing_identity_are_422(push):
    """An unknown type, a customer with nothing to identify them, a contract without 顧客ID: 422 by path."""
    assert paths(push(event("policy_bought"))) == {"type"}
    assert paths(push(event("app_login", customer={"family_name": "山田"}))) == {"customer"}
    assert paths(push(event("contract_signed", customer=TARO))) == {"customer.customer_id"}
    assert paths(push({"events": []})) == {"events"}


def test_day_counts_are_not_accepted(push):
    """経過日数 / 残日数 are derived from the dates, so sending one is a 422 saying so."""
    response = push(event("reservation_cancelled", {"reservation_id": "RV1", "days_since_cancellation": 3}))
    assert response.status_code == 422
    assert response.get_json()["fields"] == [
        {
            "path": "data.days_since_cancellation",
            "message": "not accepted: day counts are derived from the dates",
        }
    ]


def test_bad_values_are_422_with_their_path(push, runtime):
    """A phone that is no number, a day that does not exist, an unknown prefecture, an impossible time: 422."""
    body = event(
        "reservation_made",
        {"reservation_id": "RV1", "visit_on": "2024-02-30"},
        customer={"phone": "12345", "prefecture": "東京市"},
        occurred_at="2024-06-10T25:00:00+09:00",
    )
    response = push(body)
    assert response.status_code == 422
    messages = {field["path"]: field["message"] for field in response.get_json()["fields"]}
    assert messages == {
        "customer.phone": "not a valid phone number",
        "data.visit_on": "no such date",
        "customer.prefecture": "not a prefecture",
        "occurred_at": "no such date or time",
    }
    assert "12345" not in response.get_data(as_text=True)
    assert count(runtime, Customer) == 0


def test_malformed_json_is_400(push, runtime):
    """A body that is not JSON gets 400 and writes nothing."""
    response = push(b'{"type": "app_login", ')
    assert response.status_code == 400 and response.get_json()["error"] == "malformed JSON"
    assert push(b"NaN").status_code == 400
    assert count(runtime, Customer) == 0


def test_body_too_large_is_413(push, api_app):
    """A body over the limit is refused, whether it announces its length or arrives chunked."""
    response = push(b" " * (MAX_BODY_BYTES + 1))
    assert response.status_code == 413 and response.get_json()["error"] == "body too large"
    chunked = api_app.test_client().post(
        "/api/v1/events",
        input_stream=io.BytesIO(b" " * (MAX_BODY_BYTES + 10)),
        headers={"Authorization": f"Bearer {API_TOKEN}", "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},  # what gunicorn sets for a chunked request
    )
    assert chunked.status_code == 413


# --- what each event writes -----------------------------------------------------------------------------------


def test_document_requested_writes_the_request_and_a_new_prospect(push, runtime):
    """A request from someone new: a customer without 顧客ID, channels (E.164 phone), the request dated the day
    it occurred in Japan, the brochure and product type in the reference data, and the consent it carries."""
    data = {
        "document_request_id": "DR1",
        "document_id": "D01",
        "document_name": "自動車保険パンフレット",
        "product_type_code": "PT03",
        "product_type_name": "自動車保険",
        "product_code": "P031",
    }
    customer = {
        "email": "Taro.Yamada@example.com",
        "phone": "090-1234-5678",
        "family_name": "山田",
        "email_permitted": True,
    }
    assert accepted(push(event("document_requested", data, customer, occurred_at="2024-06-10T16:00:00Z")))
    request = one(runtime, DocumentRequest)
    assert (request.request_code, request.document_code, request.product_code) == ("DR1", "D01", "P031")
    assert request.requested_on == date(2024, 6, 11)  # 01:00 on the 11th in Tokyo
    customer_row = one(runtime, Customer)
    assert (customer_row.customer_code, customer_row.family_name) == (None, "山田")
    assert request.customer_id == customer_row.id
    channels = one(runtime, CustomerChannels)
    assert (channels.email_main, channels.sms_phone, channels.email_permitted) == (
        "Taro.Yamada@example.com",
        "+819012345678",
        True,
    )
    assert one(runtime, Document).name == "自動車保険パンフレット"
    assert one(runtime, ProductType).kind == "non_life"
    consent = one(runtime, ConsentEvent)
    assert (consent.channel, consent.granted, consent.source) == ("email", True, "api")


def test_quote_made_finds_the_customer_by_line_id(push, runtime):
    """A quote sent with only the LINE ID lands on the customer who gave that LINE ID before."""
    assert accepted(
        push(event("document_requested", {"document_request_id": "DR1"}, TARO | {"line_user_id": LINE_A}))
    )
    assert accepted(
        push(event("quote_made", {"quote_id": "QT1", "product_code": "P031"}, {"line_user_id": LINE_A}))
    )
    quote = one(runtime, Quote)
    assert (quote.quote_code, quote.quoted_on, quote.product_code) == ("QT1", date(2024, 6, 10), "P031")
    assert quote.customer_id == one(runtime, Customer).id


def test_reservation_cancelled_updates_the_same_reservation(push, runtime):
    """来店予約 then キャンセル: one reservation, cancelled the day the cancellation occurred, the rest kept."""
    made = {
        "reservation_id": "RV1",
        "visit_on": "2024-06-20",
        "store_id": "S001",
        "store_name": "新宿店",
        "consultation": "自動車保険の見直し",
    }
    assert accepted(push(event("reservation_made", made)))
    cancelled = event(
        "reservation_cancelled", {"reservation_id": "RV1"}, occurred_at="2024-06-12T10:00:00+09:00"
    )
    assert accepted(push(cancelled))
    reservation = one(runtime, Reservation)
    assert (reservation.reserved_on, reservation.visit_on, reservation.store_code) == (
        date(2024, 6, 10),
        date(2024, 6, 20),
        "S001",
    )
    assert (reservation.cancelled, reservation.cancelled_on, reservation.visited) == (
        True,
        date(2024, 6, 12),
        None,
    )
    assert reservation.consultation == "自動車保険の見直し"
    assert one(runtime, Store).name == "新宿店"


def test_rescheduled_then_visited(push, runtime):
    """再予約 moves the visit day and sets 来店再予約フラグ; 来店 sets 来店フラグ and 来店日."""
    push(event("reservation_made", {"reservation_id": "RV1", "visit_on": "2024-06-20"}))
    push(
        event(
            "reservation_rescheduled",
            {"reservation_id": "RV1", "visit_on": "2024-06-25"},
            occurred_at="2024-06-15T12:00:00+09:00",
        )
    )
    assert accepted(
        push(
            event(
                "visit_recorded",
                {"reservation_id": "RV1", "staff_id": "ST01"},
                occurred_at="2024-06-25T11:00:00+09:00",
            )
        )
    )
    reservation = one(runtime, Reservation)
    assert (reservation.visit_on, reservation.rebooked, reservation.rebooked_on) == (
        date(2024, 6, 25),
        True,
        date(2024, 6, 15),
    )
    assert (reservation.visited, reservation.visited_on, reservation.staff_code) == (
        True,
        date(2024, 6, 25),
        "ST01",
    )


def test_contract_events_set_the_contract_summary(push, runtime):
    """契約, 契約更新 and 解約 set the F5 contract columns of the customer known by 顧客ID."""
    holder = {"customer_id": "C0001"}
    signed = {
        "contract_status": "契約中",
        "first_contract_start_on": "2024-07-01",
        "next_renewal_on": "2025-07-01",
        "non_life_contracted": True,
        "current_product_type_code": "PT03",
        "current_product_type_name": "自動車保険",
        "current_product_code": "P031",
    }
    assert accepted(push(event("contract_signed", signed, holder)))
    contract = one(runtime, ContractSummary)
    assert (contract.contracted, contract.status, contract.non_life, contract.current_product_code) == (
        True,
        "契約中",
        True,
        "P031",
    )
    assert (contract.first_start_on, contract.next_renewal_on) == (date(2024, 7, 1), date(2025, 7, 1))
    renewed = {"renewal_count": 1, "next_renewal_on": "2026-07-01"}
    assert accepted(push(event("contract_renewed", renewed, holder, occurred_at="2025-07-01T09:00:00+09:00")))
    contract = one(runtime, ContractSummary)
    assert (contract.last_renewal_on, contract.renewal_count, contract.next_renewal_on) == (
        date(2025, 7, 1),
        1,
        date(2026, 7, 1),
    )
    ended = {
        "contracted": False,
        "contract_status": "解約",
        "contract_end_on": "2025-08-31",
        "cancelled_product_id": "P031",
        "cancelled_product_type_id": "PT03",
    }
    assert accepted(push(event("contract_cancelled", ended, holder)))
    contract = one(runtime, ContractSummary)
    assert (contract.contracted, contract.status, contract.end_on, contract.cancelled_product_code) == (
        False,
        "解約",
        date(2025, 8, 31),
        "P031",
    )
    assert one(runtime, Customer).customer_code == "C0001"


def test_page_viewed_records_the_view_when_it_occurred(push, runtime):
    """A page view by a web visitor is stored with the moment it occurred (UTC) and the visitor id."""
    data = {
        "access_log_id": "WL1",
        "page_url": "https://www.example-insurance.jp/mypage/cancel",
        "page_title": "解約手続き",
    }
    assert accepted(
        push(event("page_viewed", data, {"visitor_id": "V1"}, occurred_at="2024-08-01T09:30:00+09:00"))
    )
    view = one(runtime, PageView)
    assert (view.log_code, view.visitor_id, view.page_title) == ("WL1", "V1", "解約手続き")
    assert view.viewed_at == datetime(2024, 8, 1, 0, 30, tzinfo=UTC)
    assert view.customer_id == one(runtime, Customer).id and one(runtime, Customer).visitor_id == "V1"


def test_benefit_granted_then_used(push, runtime):
    """キャンペーン特典: granted, then used, on one benefit row of the customer and campaign."""
    holder = {"customer_id": "C0001"}
    push(event("benefit_granted", {"campaign_id": "CP001", "campaign_name": "新規契約キャンペーン"}, holder))
    assert accepted(
        push(event("benefit_used", {"campaign_id": "CP001"}, holder, occurred_at="2024-06-15T10:00:00+09:00"))
    )
    benefit = one(runtime, CampaignBenefit)
    assert (benefit.granted, benefit.granted_on, benefit.used, benefit.used_on) == (
        True,
        date(2024, 6, 10),
        True,
        date(2024, 6, 15),
    )
    assert one(runtime, Campaign).name == "新規契約キャンペーン"


def test_app_login_sets_app_use_and_keeps_the_latest_login(push, runtime):
    """スマホアプリ利用フラグ is set and the last login stays the latest, even if an older login arrives late."""
    assert accepted(push(event("app_login", occurred_at="2024-06-12T08:00:00+09:00")))
    assert accepted(push(event("app_login", occurred_at="2024-06-11T08:00:00+09:00")))
    activity = one(runtime, CustomerActivity)
    assert activity.app_user is True
    assert activity.app_last_login_at == datetime(2024, 6, 11, 23, 0, tzinfo=UTC)


def test_email_updated_replaces_the_main_email(push, runtime):
    """The customer found by the old email gets the new one (normalised) and メールアドレス取得フラグ."""
    push(event("document_requested", {"document_request_id": "DR1"}))
    assert accepted(push(event("email_updated", {"email": "taro.new@EXAMPLE.com"})))
    assert one(runtime, CustomerChannels).email_main == "taro.new@example.com"
    assert one(runtime, CustomerActivity).email_acquired is True
    assert count(runtime, Customer) == 1


def test_phone_updated_stores_e164(push, runtime):
    """A new SMS phone, typed with full-width digits, is stored as E.164."""
    assert accepted(
        push(event("phone_updated", {"phone": "０９０-９８７６-５４３２"}, {"customer_id": "C0001"}))
    )
    assert one(runtime, CustomerChannels).sms_phone == "+819098765432"


def test_opted_out_flips_the_permission_and_records_consent(push, runtime):
    """配信停止 of email: the permission becomes false, one consent event dated when it occurred; a repeat adds none."""
    push(
        event(
            "document_requested",
            {"document_request_id": "DR1"},
            TARO | {"email_permitted": True, "phone": "09012345678", "sms_permitted": True},
        )
    )
    opt_out = event("opted_out", {"channel": "email"}, occurred_at="2024-06-15T20:00:00+09:00")
    assert accepted(push(opt_out))
    assert accepted(push(opt_out))
    channels = one(runtime, CustomerChannels)
    assert (channels.email_permitted, channels.sms_permitted) == (False, True)
    history = [(e.channel, e.granted, e.purpose, e.source) for e in all_rows(runtime, ConsentEvent)]
    assert history == [
        ("email", True, "marketing", "api"),
        ("sms", True, "marketing", "api"),
        ("email", False, "marketing", "api"),
    ]
    assert all_rows(runtime, ConsentEvent)[-1].occurred_at == datetime(2024, 6, 15, 11, 0, tzinfo=UTC)


def test_opting_out_of_all_channels(push, runtime):
    """channel "all" turns every permission off, one consent event per channel."""
    assert accepted(push(event("opted_out", {"channel": "all"}, {"customer_id": "C0001"})))
    channels = one(runtime, CustomerChannels)
    assert [
        channels.email_permitted,
        channels.line_permitted,
        channels.sms_permitted,
        channels.push_permitted,
    ] == [False] * 4
    assert sorted(e.channel for e in all_rows(runtime, ConsentEvent)) == ["email", "line", "push", "sms"]


def test_every_documented_example_is_accepted(push, runtime):
    """The OpenAPI examples, pushed one after another, are all accepted."""
    for name, example in EXAMPLES.items():
        assert accepted(push(example)), name
    assert count(runtime, Customer) == 3  # the prospect (email, phone), web visitor V0001 and holder C0001


# --- Idempotency-Key -----------------------------------------------------------------------------------------


def test_idempotency_key_replays_the_answer_without_writing(push, runtime):
    """The same key and body again: the first answer, marked replayed, and the request is not run again."""
    push(event("app_login", customer=TARO | {"email_permitted": True}))
    opt_out = event("opted_out", {"channel": "email"})
    first = push(opt_out, key="req-1")
    assert accepted(first) and "Idempotent-Replayed" not in first.headers
    push(event("app_login", customer=TARO | {"email_permitted": True}))  # the customer opts in again
    before = snapshot(runtime)
    reordered = json.dumps({key: opt_out[key] for key in reversed(opt_out)}, indent=2).encode()
    second = push(reordered, key="req-1")
    assert (second.status_code, second.get_json()) == (first.status_code, first.get_json())
    assert second.headers["Idempotent-Replayed"] == "true"
    assert snapshot(runtime) == before
    assert one(runtime, CustomerChannels).email_permitted is True


def test_same_key_with_another_body_is_refused(push, runtime):
    """A key reused for a different request: 422 saying so, and the second request writes nothing."""
    assert accepted(push(event("document_requested", {"document_request_id": "DR1"}), key="req-1"))
    response = push(event("document_requested", {"document_request_id": "DR2"}), key="req-1")
    assert response.status_code == 422 and "Idempotency-Key" in response.get_json()["error"]
    assert [r.request_code for r in all_rows(runtime, DocumentRequest)] == ["DR1"]


def test_a_refused_request_does_not_use_up_its_key(push, runtime):
    """An invalid request is not remembered: the same key with the corrected body is accepted."""
    assert push(event("quote_made", {"quote_id": ""}), key="req-1").status_code == 422
    assert accepted(push(event("quote_made", {"quote_id": "QT1"}), key="req-1"))
    assert count(runtime, ApiRequest) == 1


def test_keys_are_forgotten_after_24_hours(runtime):
    """Within 24 hours the key replays; after that it is free for a new request."""
    first = json.dumps(event("quote_made", {"quote_id": "QT1"})).encode()
    later = json.dumps(event("quote_made", {"quote_id": "QT2"})).encode()
    t0 = datetime(2024, 6, 10, tzinfo=UTC)
    assert not receive(runtime.engine, first, client="c1", key="k", now=t0).replayed
    assert receive(runtime.engine, first, client="c1", key="k", now=t0 + timedelta(hours=23)).replayed
    assert receive(runtime.engine, later, client="c1", key="k", now=t0 + timedelta(hours=23)).status == 422
    reply = receive(runtime.engine, later, client="c1", key="k", now=t0 + timedelta(hours=25))
    assert (reply.status, reply.replayed) == (200, False)
    assert sorted(q.quote_code for q in all_rows(runtime, Quote)) == ["QT1", "QT2"]
    assert count(runtime, ApiRequest) == 1


def test_keys_belong_to_their_caller(runtime):
    """Two callers (tokens) may use the same key without seeing each other's answers."""
    body = json.dumps(event("quote_made", {"quote_id": "QT1"})).encode()
    now = datetime(2024, 6, 10, tzinfo=UTC)
    assert not receive(runtime.engine, body, client="c1", key="k", now=now).replayed
    assert not receive(runtime.engine, body, client="c2", key="k", now=now).replayed
    assert count(runtime, ApiRequest) == 2 and count(runtime, Quote) == 1


def test_a_request_that_lost_the_race_for_its_key_replays_the_winner(runtime):
    """If the key is claimed between the look-up and the write, the unique key stops the write: answer replayed."""
    body = event("opted_out", {"channel": "email"}, TARO)
    now = datetime(2024, 6, 10, tzinfo=UTC)
    winner = receive(runtime.engine, json.dumps(body).encode(), client="c1", key="k", now=now)
    located, _ = check_body(body)
    events, _ = to_events(located)
    before = snapshot(runtime)
    loser = write_events(runtime.engine, events, client="c1", key="k", fingerprint=_hash(body), now=now)
    assert (loser.status, loser.body, loser.replayed) == (winner.status, winner.body, True)
    assert snapshot(runtime) == before


def _hash(payload) -> str:
    from bot.api_events.idempotency import request_hash

    return request_hash(payload)


def test_simultaneous_requests_with_one_new_key_write_once(api_app, runtime):
    """Four requests racing with one new key all get the same 200, and the opt-out is written once."""
    client = api_app.test_client()
    client.post(
        "/api/v1/events",
        json=event("app_login", customer=TARO | {"email_permitted": True}),
        headers={"Authorization": f"Bearer {API_TOKEN}"},
    )
    start, results = threading.Barrier(4), []

    def send() -> None:
        own = api_app.test_client()
        start.wait()
        response = own.post(
            "/api/v1/events",
            json=event("opted_out", {"channel": "email"}),
            headers={"Authorization": f"Bearer {API_TOKEN}", "Idempotency-Key": "race"},
        )
        results.append(
            (response.status_code, response.get_json(), response.headers.get("Idempotent-Replayed"))
        )

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [result[:2] for result in results] == [(200, {"status": "accepted", "events": 1})] * 4
    assert sorted(str(result[2]) for result in results) == ["None", "true", "true", "true"]  # one ran
    assert [e.granted for e in all_rows(runtime, ConsentEvent)] == [True, False]
    assert count(runtime, ApiRequest) == 1


# --- batches -----------------------------------------------------------------------------------------------------


def test_a_batch_is_written_in_order(push, runtime):
    """A reservation and its cancellation in one batch: 2 events accepted, one cancelled reservation."""
    batch = {
        "events": [
            event("reservation_made", {"reservation_id": "RV1", "visit_on": "2024-06-20"}),
            event("reservation_cancelled", {"reservation_id": "RV1"}),
        ]
    }
    assert accepted(push(batch), events=2)
    reservation = one(runtime, Reservation)
    assert (reservation.visit_on, reservation.cancelled) == (date(2024, 6, 20), True)


def test_nothing_is_written_when_one_event_of_a_batch_is_invalid(push, runtime):
    """A bad phone in the third event: 422 naming events[2].customer.phone; the valid events are not written."""
    batch = {
        "events": [
            event("document_requested", {"document_request_id": "DR1"}),
            event("quote_made", {"quote_id": "QT1"}),
            event("app_login", customer={"phone": "0120"}),
        ]
    }
    response = push(batch)
    assert response.status_code == 422 and paths(response) == {"events[2].customer.phone"}
    assert all(rows == [] for rows in snapshot(runtime).values())


def test_a_refusal_while_writing_rolls_back_the_whole_batch(push, runtime):
    """The second event gives another customer's LINE ID: 422 for that field, and the first event is undone."""
    assert accepted(push(event("app_login", customer={"customer_id": "C0001", "line_user_id": LINE_A})))
    before = snapshot(runtime)
    batch = {
        "events": [
            event("document_requested", {"document_request_id": "DR1"}),
            event("contract_signed", customer={"customer_id": "C0002", "line_user_id": LINE_A}),
        ]
    }
    response = push(batch)
    assert response.status_code == 422
    assert response.get_json()["fields"] == [
        {"path": "events[1].customer.line_user_id", "message": "already belongs to another customer"}
    ]
    assert snapshot(runtime) == before


def test_logs_carry_ids_and_outcomes_only(push, caplog):
    """Neither emails, phones, names nor LINE ids reach the logs, whether the request is accepted or refused."""
    caplog.set_level(logging.DEBUG)
    person = {
        "email": "hanako@example.com",
        "phone": "080-1111-2222",
        "family_name": "佐藤",
        "line_user_id": LINE_A,
    }
    assert accepted(push(event("document_requested", {"document_request_id": "DR1"}, person), key="k1"))
    push(event("document_requested", {"document_request_id": "DR1", "requested_on": "2024-99-01"}, person))
    assert "accepted" in caplog.text and "invalid event" in caplog.text
    for secret in ("hanako", "080-1111-2222", "8011112222", "佐藤", LINE_A):
        assert secret not in caplog.text


def test_the_periodic_tick_forgets_expired_keys(runtime):
    """Keys older than 24 hours are deleted by the worker's tick; younger ones stay."""
    from bot.jobs.tasks import tick

    t0 = datetime(2024, 6, 10, tzinfo=UTC)
    receive(
        runtime.engine,
        json.dumps(event("quote_made", {"quote_id": "QT1"})).encode(),
        client="c1",
        key="old",
        now=t0,
    )
    receive(
        runtime.engine,
        json.dumps(event("quote_made", {"quote_id": "QT2"})).encode(),
        client="c1",
        key="new",
        now=t0 + timedelta(hours=20),
    )
    assert tick((t0 + timedelta(hours=25)).isoformat())["idempotency_keys_forgotten"] == 1
    assert count(runtime, ApiRequest) == 1


def test_consent_changes_keep_the_request_as_evidence(push, runtime):
    """Each consent change names the caller and Idempotency-Key, the body's SHA-256 and the event's position in
    the request; a request without a key names the caller."""
    from bot.api_events.auth import fingerprint

    caller = f"api:{fingerprint(API_TOKEN)}"
    body = {"events": [event("app_login"), event("opted_out", {"channel": "email"})]}
    body["events"][0]["customer"] = TARO | {"email_permitted": True}
    assert accepted(push(body, key="batch-7"), events=2)
    assert accepted(push(event("opted_out", {"channel": "sms"}, TARO | {"phone": "09012345678"})))
    rows = [
        (e.channel, e.granted, e.evidence_ref, e.evidence_sha256, e.evidence_line)
        for e in all_rows(runtime, ConsentEvent)
    ]
    assert rows[:2] == [
        ("email", True, f"{caller}:batch-7", _hash(body), 1),
        ("email", False, f"{caller}:batch-7", _hash(body), 2),
    ]
    [(channel, granted, ref, digest, line)] = rows[2:]
    assert (channel, granted, ref, line) == ("sms", False, caller, 1) and len(digest) == 64
    assert all(e.evidence_file is None for e in all_rows(runtime, ConsentEvent))
