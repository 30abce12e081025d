"""`flask export KIND --since DAY`: the records changed since a day, built here by hand, come back through a
spreadsheet-style CSV reader as they were stored (Japan time, 真/偽, the customer by 顧客ID), with nothing older,
no name, phone, email or LINE user id, a formula defused; CP932 that cannot hold a value refuses the whole file
and writes nothing; every run is audited. On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from bot.cli.exports import export_command
from models import (
    AdminAudit,
    ConsentEvent,
    Coupon,
    CouponCampaign,
    Customer,
    CustomerChannels,
    Delivery,
    Reservation,
    ServiceRequest,
)
from tests.integration.test_inbox import CSRF, add_staff, log_in

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)  # 12:00 in Japan
OLD = datetime(2026, 11, 29, 14, 59, tzinfo=UTC)  # 23:59 on 29 November in Japan: before the day asked for
EDGE = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)  # 00:00 on 30 November in Japan: the first moment exported
SINCE = "2026-11-30"
NAME, PHONE, EMAIL, LINE_ID = "山田", "09012345678", "taro@example.jp", "U" + "ab12" * 8


def _build(runtime) -> dict[str, int]:
    with runtime.engine.begin() as connection:
        ids = {}
        for code in ("C100", None):  # a policyholder and a prospect without 顧客ID
            ids[code or "prospect"] = connection.execute(
                insert(Customer.__table__)
                .values(
                    customer_code=code, family_name=NAME, given_name="太郎", created_at=OLD, updated_at=OLD
                )
                .returning(Customer.__table__.c.id)
            ).scalar_one()
        customer, prospect = ids["C100"], ids["prospect"]
        connection.execute(
            insert(CustomerChannels.__table__).values(
                customer_id=customer, sms_phone=PHONE, email_main=EMAIL, line_user_id=LINE_ID, updated_at=OLD
            )
        )
        requests = ServiceRequest.__table__
        for reference, changed, details in (
            ("R-OLD", OLD, {"text": "古い"}),
            ("R-NEW", EDGE, {"new_address": "東京都港区1-2-3", "note": '=HYPERLINK("http://x")'}),
        ):
            connection.execute(
                insert(requests).values(
                    reference=reference,
                    customer_id=customer,
                    kind="address_change",
                    details=details,
                    verified=True,
                    status="received",
                    created_at=OLD,
                    updated_at=changed,
                )
            )
        connection.execute(
            insert(Reservation.__table__).values(
                reservation_code="V1",
                customer_id=prospect,
                visit_on=datetime(2026, 12, 10).date(),
                visit_at=datetime(2026, 12, 10, 1, 30, tzinfo=UTC),
                cancelled=False,
                store_code="S01",
                consultation="がん保険の相談 🙂",  # an emoji: CP932 cannot write it
                updated_at=NOW,
            )
        )
        connection.execute(
            insert(ConsentEvent.__table__).values(
                customer_id=customer,
                channel="sms",
                purpose="marketing",
                granted=False,
                occurred_at=NOW,
                source="api",
            )
        )
        connection.execute(
            insert(CouponCampaign.__table__).values(
                code="WELCOME", title="来店特典", benefit="ギフト券", created_at=OLD
            )
        )
        coupons = Coupon.__table__
        connection.execute(
            insert(coupons).values(
                campaign_code="WELCOME",
                customer_id=customer,
                code="CPN1",
                status="redeemed",
                issued_at=OLD,  # issued before the day, redeemed after: a change since
                expires_at=OLD + timedelta(days=7),
                redeemed_at=NOW,
                redeemed_via="staff",
            )
        )
        connection.execute(
            insert(Delivery.__table__).values(
                customer_id=customer,
                step="s1",
                template="renewal.notice",
                channel="sms",
                purpose="marketing",
                status="failed",
                due_at=NOW,
                error=f"carrier refused {PHONE}",
                segments=2,
                cost_yen=6.6,
                created_at=NOW,
                updated_at=NOW,
            )
        )
    return ids


def _exported(app, kind: str, tmp_path, *options: str) -> tuple[object, list[dict[str, str]]]:
    out = tmp_path / f"{kind}.csv"
    result = app.test_cli_runner().invoke(
        export_command, [kind, "--since", SINCE, "--out", str(out), "--by", "staff-9", *options]
    )
    if result.exit_code != 0:
        return result, []
    encoding = "cp932" if "cp932" in options else "utf-8-sig"
    raw = out.read_bytes()
    assert b"\r\n" in raw and (encoding == "cp932" or raw.startswith(b"\xef\xbb\xbf"))  # what Excel expects
    for secret in (NAME, PHONE, EMAIL, LINE_ID, "太郎"):
        assert secret.encode(encoding) not in raw, (kind, secret)
    with open(out, encoding=encoding, newline="") as handle:  # a spreadsheet's reading
        return result, list(csv.DictReader(handle))


def test_each_kind_round_trips_through_a_csv_reader_with_only_what_changed_since_the_day(
    app, runtime, tmp_path
):
    ids = _build(runtime)
    _, requests = _exported(app, "requests", tmp_path)
    assert [row["受付番号"] for row in requests] == ["R-NEW"]  # R-OLD changed a minute before the day began
    (new,) = requests
    assert new["顧客ID"] == "C100" and new["内部顧客番号"] == str(ids["C100"])
    assert new["本人確認済み"] == "真" and new["更新日時"] == "2026-11-30 00:00:00" and new["完了日時"] == ""
    details = new["受付内容"]
    assert details.startswith("{") and json.loads(details)["new_address"] == "東京都港区1-2-3"
    assert json.loads(details)["note"] == '=HYPERLINK("http://x")'  # inside JSON: no cell starts with "="

    _, bookings = _exported(app, "bookings", tmp_path)
    assert bookings == [
        bookings[0] | {"来店予約ID": "V1", "顧客ID": "", "内部顧客番号": str(ids["prospect"])}
    ]
    assert bookings[0]["来店予定日"] == "2026-12-10" and bookings[0]["来店予定日時"] == "2026-12-10 10:30:00"
    assert bookings[0]["キャンセルフラグ"] == "偽" and bookings[0]["来店フラグ"] == ""
    assert bookings[0]["相談内容"] == "がん保険の相談 🙂"

    _, consents = _exported(app, "consents", tmp_path)
    assert [(row["チャネル"], row["許可"], row["変更日時"]) for row in consents] == [
        ("sms", "偽", "2026-12-07 12:00:00")
    ]
    _, coupons = _exported(app, "coupons", tmp_path)
    assert [(row["クーポンコード"], row["状態"], row["利用日時"]) for row in coupons] == [
        ("CPN1", "redeemed", "2026-12-07 12:00:00")
    ]
    _, deliveries = _exported(app, "deliveries", tmp_path)
    assert [(row["テンプレート"], row["状態"], row["SMS通数"], row["費用（円）"]) for row in deliveries] == [
        ("renewal.notice", "failed", "2", "6.6")
    ]  # and the provider's error, which quotes the phone number, is not there (checked in _exported)

    with runtime.engine.connect() as connection:
        audits = connection.execute(
            select(
                AdminAudit.actor,
                AdminAudit.command,
                AdminAudit.arguments,
                AdminAudit.result,
                AdminAudit.detail,
            )
        ).all()
    assert ("staff-9", "export-data", f"requests since {SINCE} utf-8", "done", "1 rows") in audits
    assert len(audits) == 5


def test_cp932_writes_what_it_can_hold_and_refuses_a_file_it_cannot_whole(app, runtime, tmp_path):
    _build(runtime)
    result, requests = _exported(app, "requests", tmp_path, "--encoding", "cp932")
    assert result.exit_code == 0 and json.loads(requests[0]["受付内容"])["new_address"] == "東京都港区1-2-3"
    (tmp_path / "bookings.csv").write_text("an earlier export\n", encoding="utf-8")
    result, _ = _exported(app, "bookings", tmp_path, "--encoding", "cp932")
    assert result.exit_code == 1
    assert "1 of 1 rows hold characters CP932 cannot write: row 1 (相談内容)" in result.output
    assert (
        "nothing was written" in result.output
        and "🙂" not in result.output
        and "がん保険" not in result.output
    )
    assert (tmp_path / "bookings.csv").read_text(encoding="utf-8") == "an earlier export\n"  # left as it was
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no partial file left
    with runtime.engine.connect() as connection:
        refused = connection.execute(
            select(AdminAudit.result, AdminAudit.personal_data).where(AdminAudit.arguments.like("bookings%"))
        ).all()
    assert refused == [("refused", False)]


@pytest.mark.parametrize("since", ["yesterday", "2026-13-01"])
def test_a_day_that_is_not_one_is_refused_before_anything(app, runtime, tmp_path, since):
    result = app.test_cli_runner().invoke(
        export_command, ["requests", "--since", since, "--out", str(tmp_path / "x")]
    )
    assert result.exit_code == 2 and "not a day" in result.output
    assert not (tmp_path / "x").exists()


def test_a_text_cell_a_spreadsheet_would_run_is_defused(app, runtime, tmp_path):
    ids = _build(runtime)
    with runtime.engine.begin() as connection:
        connection.execute(
            insert(Reservation.__table__).values(
                reservation_code="V2", customer_id=ids["C100"], consultation="=1+2", updated_at=NOW
            )
        )
    _, bookings = _exported(app, "bookings", tmp_path)
    assert [row["相談内容"] for row in bookings if row["来店予約ID"] == "V2"] == ["'=1+2"]


def _export_form(client) -> tuple[int, str, str]:
    page = client.get("/inbox/exports")
    body = page.get_data(as_text=True)
    tokens = CSRF.findall(body)
    return page.status_code, body, tokens[-1] if tokens else ""


def test_a_supervisor_downloads_an_export_from_the_staff_pages_and_an_agent_may_not(
    app, runtime, client, tmp_path
):
    ids = _build(runtime)
    add_staff(app, "hanako", "supervisor")
    add_staff(app, "jiro", "agent")
    assert client.get("/inbox/exports").status_code == 403  # nobody signed in
    log_in(client, "jiro")
    status, body, token = _export_form(client)
    assert status == 200 and 'id="download"' not in body and 'id="not-allowed"' in body
    refused = client.post("/inbox/exports", data={"kind": "requests", "since": SINCE, "csrf": token})
    assert refused.status_code == 403

    client.post("/inbox/logout", data={"csrf": token})
    log_in(client, "hanako")
    status, body, token = _export_form(client)
    assert status == 200 and 'id="download"' in body and "サービス受付" in body
    form = {"kind": "requests", "since": SINCE, "encoding": "utf-8"}
    assert client.post("/inbox/exports", data=form | {"csrf": "0" * 64}).status_code == 400
    downloaded = client.post("/inbox/exports", data=form | {"csrf": token})
    assert downloaded.status_code == 200
    assert downloaded.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert downloaded.headers["Content-Disposition"] == f'attachment; filename="requests-since-{SINCE}.csv"'
    assert downloaded.headers["Cache-Control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(downloaded.get_data().decode("utf-8-sig"), newline="")))
    assert [(row["受付番号"], row["内部顧客番号"]) for row in rows] == [("R-NEW", str(ids["C100"]))]

    cp932 = client.post(
        "/inbox/exports", data={"kind": "bookings", "since": SINCE, "encoding": "cp932", "csrf": token}
    )
    assert cp932.status_code == 422
    shown = cp932.get_data(as_text=True)
    assert "1 行あります：1（相談内容）" in shown and "🙂" not in shown
    unclear = client.post("/inbox/exports", data={"kind": "names", "since": SINCE, "csrf": token})
    assert unclear.status_code == 400

    with runtime.engine.connect() as connection:
        audited = connection.execute(
            select(
                AdminAudit.actor,
                AdminAudit.place,
                AdminAudit.arguments,
                AdminAudit.result,
                AdminAudit.personal_data,
            )
            .where(AdminAudit.command == "export-data")
            .order_by(AdminAudit.id)
        ).all()
    assert audited == [
        ("inbox:hanako", "inbox", f"requests since {SINCE} utf-8", "done", True),
        ("inbox:hanako", "inbox", f"bookings since {SINCE} cp932", "refused", False),
    ]
