"""A customer's APPI rights from the operator's shell: `flask customers export` shows every table's rows of the
customer, `flask customers erase` leaves no trace of their name, phone, email or LINE user id in any column of any
table (nor in Redis) while the dashboard's figures up to the erasure stay as they were; both are audited, as are
`flask why` and `flask requests list`. The audit log cannot be truncated on PostgreSQL."""

from __future__ import annotations

import base64
import json
from dataclasses import asdict
from datetime import timedelta
from functools import partial

import pytest
from sqlalchemy import insert, select, text, update
from sqlmodel import SQLModel

from bot.delivery.outbox import dispatch_due
from bot.privacy.erasure import erase_customer
from bot.privacy.holdings import HOLDINGS
from bot.privacy.requests import open_request
from bot.staff.admin import StaffMember, pseudonym
from bot.staff.dashboard import funnels, problems, reach, sms_months
from models import (
    AdminAudit,
    Customer,
    CustomerChannels,
    Delivery,
    Enrollment,
    PrivacyKind,
    PrivacyRequest,
    ServiceRequest,
    StaffNotice,
    WebhookEvent,
    utcnow,
)
from tests.integration.chat_helpers import emulated_line
from tests.integration.delivery_helpers import add_customer, add_row, line_id
from tests.integration.privacy_helpers import (
    age,
    bystander,
    customer_id,
    import_people,
    live_in_the_chat,
    reach_them,
    saya,
    staff_look_up,
    tables_holding,
    traces_in_redis,
    traces_in_tables,
)


def figures(runtime) -> dict:
    """The dashboard's figures as staff see them now."""
    now = utcnow()
    with runtime.engine.connect() as connection:
        _, series = reach(connection, now)
        return {
            "funnels": {sid: asdict(funnel) for sid, funnel in funnels(connection).items()},
            "reach": series,
            "sms": sms_months(connection, now),
            "problems": problems(connection, now),
        }


def request(runtime, customer: int, reference: str, **values) -> None:
    now = utcnow()
    row = {"kind": "complaint", "status": "received", "details": {"text": "窓口で待たされた"}} | values
    with runtime.engine.begin() as connection:
        connection.execute(
            insert(ServiceRequest.__table__).values(
                reference=reference, customer_id=customer, created_at=now, updated_at=now, **row
            )
        )


def audit_log(runtime) -> list[tuple]:
    columns = (
        AdminAudit.actor,
        AdminAudit.place,
        AdminAudit.command,
        AdminAudit.arguments,
        AdminAudit.result,
    )
    with runtime.engine.connect() as connection:
        rows = connection.execute(
            select(*columns, AdminAudit.detail, AdminAudit.personal_data).order_by(AdminAudit.id)
        )
        return [tuple(row) for row in rows]


def test_export_shows_every_table_and_erase_leaves_no_trace_but_the_counts(
    app, runtime, post_webhook, drain, tmp_path
):
    """After a rich life (imported, linked, chatted, a request, messages on LINE, SMS and email, a coupon, staff
    look-ups), the export holds every table's rows of the customer; the erasure then leaves their name, phone,
    email and LINE user id nowhere (every text and JSON column, Redis), the bystander untouched, and the
    dashboard as it was up to the erasure, when they stop counting."""
    who, other = saya(), bystander()
    import_people(runtime, tmp_path, who, other)
    with emulated_line(runtime) as line:
        live_in_the_chat(runtime, line, post_webhook, drain, who)
        staff_look_up(runtime, line, post_webhook, drain, who)
        customer = customer_id(runtime, who)
        reach_them(runtime, drain, customer)
    runtime.redis.hset(f"simulator:user:{who.line_user}", mapping={"name": f"{who.family} {who.given}"})
    runtime.redis.set(f"simulator:customer:{customer}", who.line_user)
    age(runtime, days=3)
    expected = tables_holding(runtime, customer, who.line_user)
    assert {"customers", "deliveries", "webhook_events", "service_requests", "coupons", "dialogs"} <= set(
        expected
    )
    before = figures(runtime)
    assert traces_in_tables(runtime, who.needles) and traces_in_redis(runtime.redis, who.needles)

    cli = app.test_cli_runner()
    out = tmp_path / "disclosure.json"
    exported = cli.invoke(args=["customers", "export", who.code, "--out", str(out), "--by", "staff-7"])
    assert exported.exit_code == 0, exported.output
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["customer_id"] == customer and set(document["tables"]) == set(HOLDINGS)
    shown = document["tables"]
    for table, count in expected.items():  # also admin answers naming them, and the audit: at least these
        assert len(shown[table]) >= count, table
    assert all(row["customer_id"] in (customer, None) for row in shown["staff_notices"])
    assert shown["customers"][0]["family_name"] == who.family
    assert any(
        who.family in json.dumps(row["payload"], ensure_ascii=False) for row in shown["webhook_events"]
    )
    assert shown["staff_notices"] and shown["coupons"][0]["campaign_code"] == "VISIT"
    [document_sent] = shown["attachments"]  # the complaint's document, decrypted
    assert who.family.encode() in base64.b64decode(document_sent["content_base64"])
    looked = {(row["command"], row["result"]) for row in shown["admin_audit"]}
    assert {("customer", "done"), ("why", "done"), ("coupon", "done"), ("customer", "refused")} <= looked
    assert (out.stat().st_mode & 0o777) == 0o600

    erased = cli.invoke(args=["customers", "erase", who.code, "--by", "staff-7", "--yes"])
    assert erased.exit_code == 0, erased.output
    assert traces_in_tables(runtime, who.needles) == set()
    assert traces_in_redis(runtime.redis, who.needles) == set()
    assert {n for _, n in traces_in_tables(runtime, other.needles)} >= {other.family, other.email}
    after = figures(runtime)
    assert after["funnels"] == before["funnels"] and after["funnels"]
    assert after["sms"] == before["sms"]
    assert after["problems"] == before["problems"]
    for kpi, series in before["reach"].items():
        assert after["reach"][kpi][:-1] == series[:-1], kpi  # up to yesterday: as it was
        assert series[-1] - after["reach"][kpi][-1] == 1, kpi  # today: one less (they are gone)
    with runtime.engine.connect() as connection:
        tombstone = connection.execute(select(Customer).where(Customer.id == customer)).one()
        channels = connection.execute(
            select(CustomerChannels).where(CustomerChannels.customer_id == customer)
        ).one()
    assert (
        tombstone.erased_at is not None and tombstone.customer_code is None and channels.line_user_id is None
    )
    assert audit_log(runtime)[-2:] == [
        (
            "staff-7",
            "cli",
            "export",
            pseudonym(runtime.settings, who.code),
            "done",
            f"customer {customer}",
            True,
        ),
        (
            "staff-7",
            "cli",
            "erase",
            pseudonym(runtime.settings, who.code),
            "done",
            f"customer {customer} erased",
            False,
        ),
    ]


def test_erase_asks_first_and_cannot_run_twice(app, runtime, tmp_path):
    """Without --yes the operator confirms (no: nothing changes, nothing audited); by internal id a second
    erasure says it was done already; an unknown customer is named."""
    who = saya()
    import_people(runtime, tmp_path, who)
    customer = customer_id(runtime, who)
    cli = app.test_cli_runner()
    declined = cli.invoke(args=["customers", "erase", who.code, "--by", "staff-7"], input="n\n")
    assert declined.exit_code == 1 and "元に戻せません" in declined.output
    assert traces_in_tables(runtime, (who.family,)) and audit_log(runtime) == []
    confirmed = cli.invoke(args=["customers", "erase", str(customer), "--by", "staff-7"], input="y\n")
    assert confirmed.exit_code == 0 and "消去しました" in confirmed.output
    again = cli.invoke(args=["customers", "erase", str(customer), "--by", "staff-8", "--yes"])
    assert again.exit_code == 0 and "消去済み" in again.output
    assert cli.invoke(args=["customers", "erase", who.code, "--by", "staff-8", "--yes"]).exit_code == 1
    assert [row[2:5] for row in audit_log(runtime)] == [
        ("erase", pseudonym(runtime.settings, str(customer)), "done"),
        ("erase", pseudonym(runtime.settings, str(customer)), "already"),
    ]


def test_personal_data_access_from_the_shell_is_audited(app, runtime, tmp_path, monkeypatch):
    """`flask why`, `requests list` and `customers export` each write an audit row naming who ran it (--by, or
    the shell's login) and the customers shown by internal id; the key typed only as a keyed hash."""
    who = saya()
    import_people(runtime, tmp_path, who)
    customer = customer_id(runtime, who)
    request(runtime, customer, "R261207-AAAA")
    monkeypatch.setattr("getpass.getuser", lambda: "operator1")
    cli = app.test_cli_runner()
    assert cli.invoke(args=["why", who.code, "--by", "staff-7"]).exit_code == 0
    assert cli.invoke(args=["why", "C404"]).exit_code == 1
    listed = cli.invoke(args=["requests", "list", "--status", "all"])
    assert listed.exit_code == 0 and "R261207-AAAA" in listed.output
    exported = cli.invoke(args=["customers", "export", str(customer)])
    assert (
        exported.exit_code == 0
        and json.loads(exported.output)["tables"]["customers"][0]["given_name"] == who.given
    )
    key = partial(pseudonym, runtime.settings)
    assert audit_log(runtime) == [
        ("staff-7", "cli", "why", key(who.code), "done", f"customer {customer}", True),
        ("os:operator1", "cli", "why", key("C404"), "not_found", "no customer", False),
        ("os:operator1", "cli", "requests list", "all", "done", f"customer {customer}", True),
        ("os:operator1", "cli", "export", key(str(customer)), "done", f"customer {customer}", True),
    ]


def test_the_audit_log_cannot_be_truncated_on_postgresql(runtime, database_url):
    """TRUNCATE of the audit log, alone or with other tables, is refused by the database itself."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the append-only triggers are PostgreSQL's")
    from sqlalchemy.exc import DBAPIError

    from bot.staff.admin import audit

    with runtime.engine.begin() as connection:
        audit(connection, "staff-7", "cli", "why", "", "done", utcnow())
    for statement in ("TRUNCATE admin_audit", "TRUNCATE customers, admin_audit CASCADE"):
        with pytest.raises(DBAPIError, match="append-only"), runtime.engine.begin() as connection:
            connection.execute(text(statement))
    with runtime.engine.connect() as connection:
        assert connection.execute(select(AdminAudit.command)).scalars().all() == ["why"]
    assert "admin_audit" in SQLModel.metadata.tables


def test_erasure_stops_what_was_still_to_happen(runtime):
    """Their running scenario is cancelled (its anchor no longer the insurer's id), waiting and paused messages
    fail as erased and are never handed to a sender, a staff notice not yet sent is not sent, an event of theirs
    not yet processed never will be, and a pending request about them lapses."""
    user = line_id()
    customer = add_customer(runtime, line=user, phone="+819055550123", email="saya@example.jp", email_ok=True)
    now = utcnow()
    with runtime.engine.begin() as connection:
        enrollment = connection.execute(
            insert(Enrollment.__table__)
            .values(
                scenario_id="visit_reminder",
                customer_id=customer,
                anchor_key="reservation:RS7001",
                status="active",
                entered_at=now,
                wake_at=now + timedelta(days=1),
                wake_token=1,
                updated_at=now,
            )
            .returning(Enrollment.__table__.c.id)
        ).scalar_one()
        connection.execute(
            insert(StaffNotice.__table__).values(
                kind="complaint",
                customer_id=customer,
                template="chat_desk.staff_request",
                fields={"details": "雲母坂です"},
                status="queued",
                attempts=0,
                created_at=now,
            )
        )
        connection.execute(
            insert(WebhookEvent.__table__).values(
                webhook_event_id="01JERASE",
                event_type="message",
                line_user_id=user,
                status="received",
                payload=json.dumps(
                    {"type": "message", "source": {"userId": user}, "message": {"text": "雲母坂"}}
                ),
                received_at=now,
            )
        )
        asked = open_request(
            connection, PrivacyKind.EXPORT, customer, StaffMember("U1", "1:1", frozenset()), now
        )
    queued = add_row(runtime, customer, channel="email", enrollment_id=enrollment, step="a")
    paused = add_row(runtime, customer, channel="line", fields={"address": "東京都"})
    with runtime.engine.begin() as connection:  # its scenario is paused: it waits for staff to resume
        connection.execute(update(Delivery).where(Delivery.id == paused).values(status="paused"))
    with runtime.engine.begin() as connection:
        erasure = erase_customer(
            connection,
            SQLModel.metadata,
            runtime.settings,
            customer,
            actor="staff-7",
            place="cli",
            arguments="",
            now=now,
        )
    assert erasure.line_user_ids == (user,) and erasure.changed["enrollments"] == 1
    with runtime.engine.connect() as connection:
        run = connection.execute(select(Enrollment)).one()
        rows = connection.execute(select(Delivery).order_by(Delivery.id)).all()
        notice = connection.execute(select(StaffNotice)).one()
        event = connection.execute(select(WebhookEvent)).one()
        status = connection.execute(select(PrivacyRequest.status).where(PrivacyRequest.id == asked)).scalar()
    assert (run.status, run.outcome, run.wake_at, run.anchor_key) == (
        "done",
        "cancelled",
        None,
        f"erased:{run.id}",
    )
    assert [(r.id, r.status, r.error, r.fields) for r in rows] == [
        (queued, "failed", "erased", None),
        (paused, "failed", "erased", None),
    ]
    assert (notice.status, notice.error, notice.fields) == ("failed", "erased", None)
    assert (event.status, event.line_user_id) == ("processed", None) and "雲母坂" not in event.payload
    assert status == "expired"
    assert dispatch_due(runtime.engine, runtime.redis, runtime.settings, utcnow() + timedelta(days=2)) == 0
