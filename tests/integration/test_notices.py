"""Service notices to a list (`flask notices send`), end to end on SQLite and PostgreSQL: a 1,000-row 保険料の未払い
list with 10 bad rows; the dry run's counts equal what the database holds (built here by hand); confirming is
refused while rows are bad unless asked, and above the threshold without a second staff member; each recipient
gets one message on the first channel of the ladder that reaches them (LINE, then SMS, then email), in their
row's own words; the result file says what became of every line; the same file again sends nothing."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from bot.cli.exports import export_command
from bot.cli.notices import notices_group
from models import Broadcast, Customer, CustomerChannels, Delivery, FriendStatus, LineUser, utcnow
from tests.integration.chat_helpers import emulated_line
from tests.integration.delivery_helpers import send_due
from tests.integration.test_inbox import CSRF, add_staff, log_in

HEADER = ["顧客ID", "電話番号", "メールアドレス", "証券番号", "金額", "期限"]
LINE_ONLY, SMS_ONLY, EMAIL_ONLY, NOWHERE = 600, 200, 150, 40  # 990 customers


def build(runtime) -> dict[str, list]:
    """990 customers by 顧客ID: on LINE, SMS only, email only, and with no address at all."""
    now = utcnow()
    kinds = ["line"] * LINE_ONLY + ["sms"] * SMS_ONLY + ["email"] * EMAIL_ONLY + ["none"] * NOWHERE
    people: dict[str, list] = {"line": [], "sms": [], "email": [], "none": []}
    with runtime.engine.begin() as connection:
        for number, kind in enumerate(kinds):
            code = f"C{number:05d}"
            customer = connection.execute(
                insert(Customer.__table__)
                .values(customer_code=code, family_name="佐藤", created_at=now, updated_at=now)
                .returning(Customer.__table__.c.id)
            ).scalar_one()
            line = f"U{number:032x}" if kind == "line" else None
            phone = f"+8190{12340000 + number}" if kind == "sms" else None
            email = f"c{number}@example.jp" if kind == "email" else None
            connection.execute(
                insert(CustomerChannels.__table__).values(
                    customer_id=customer, line_user_id=line, sms_phone=phone, email_main=email, updated_at=now
                )
            )
            if line:
                connection.execute(
                    insert(LineUser.__table__).values(
                        line_user_id=line,
                        friend_status=FriendStatus.FOLLOWING,
                        created_at=now,
                        updated_at=now,
                    )
                )
            people[kind].append((customer, code, line, phone, email))
    return people


def write_list(path: Path, people: dict[str, list]) -> Path:
    """990 good rows (most by 顧客ID, 50 SMS customers by phone, 20 email ones by address) and 10 bad ones."""
    due = (date.today() + timedelta(days=14)).strftime("%Y/%m/%d")
    rows = []
    for kind, found in people.items():
        for index, (_, code, _, phone, email) in enumerate(found):
            key = [code, "", ""]
            if kind == "sms" and index < 50:
                key = ["", "0" + phone.removeprefix("+81"), ""]  # as staff type it: 090…
            if kind == "email" and index < 20:
                key = ["", "", email.replace("example.jp", "EXAMPLE.JP")]  # the domain as typed
            rows.append([*key, f"P-{code}", "12000", due])
    bad = [
        ["C00001", "", "", "P-X", "たくさん", due],  # not an amount
        ["C00002", "", "", "P-X", "12000", "来月"],  # not a day
        ["C00003", "", "", "", "12000", due],  # no policy number
        ["C00004", "", "", "P-X", "", due],  # no amount
        ["C99991", "", "", "P-X", "12000", due],  # nobody has this 顧客ID
        ["C99992", "", "", "P-X", "12000", due],
        ["C99993", "", "", "P-X", "12000", due],
        ["", "09099999999", "", "P-X", "12000", due],  # nobody has this phone
        ["C00010", "", "", "P-X", "12000", due],  # C00010 again
        ["", "", "", "P-X", "12000", due],  # no key at all
    ]
    rows[500:500] = bad
    with open(path, "w", encoding="cp932", newline="") as handle:  # as Excel saves it
        csv.writer(handle).writerows([HEADER, *rows])
    return path


def cli(app, *args: str):
    return app.test_cli_runner().invoke(notices_group, list(args))


def test_a_list_with_bad_rows_is_counted_confirmed_sent_once_each_and_reported(app, runtime, drain, tmp_path):
    people = build(runtime)
    path = write_list(tmp_path / "未払い.csv", people)
    runtime.settings = runtime.settings.model_copy(update={"broadcast_approval_threshold": 100})

    dry = cli(app, "send", "premium_unpaid", str(path))
    assert dry.exit_code == 0, dry.output
    shown = dry.output
    assert "rows 1000: matched 990, not matched 10" in shown
    for reason, count in (
        ("invalid", 4),
        ("unknown_customer", 3),
        ("no_such_phone", 1),
        ("duplicate_customer", 1),
        ("no_key", 1),
    ):
        assert f"not matched, {reason}: {count}" in shown
    assert (
        f"recipients {LINE_ONLY + SMS_ONLY + EMAIL_ONLY}: email {EMAIL_ONLY}, line {LINE_ONLY}, sms {SMS_ONLY}"
        in shown
    )
    assert f"no channel of the ladder, no_address: {NOWHERE}" in shown
    assert (
        "P-C0" not in shown and "佐藤" not in shown and "@example.jp" not in shown
    )  # no personal data echoed
    assert "SMS: 200 segments" in shown  # each SMS one segment, as the carrier that bills most counts it

    with runtime.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(Delivery)).scalar_one() == 0  # a dry run
    refused = cli(app, "send", "premium_unpaid", str(path), "--confirm", "--by", "staff-1")
    assert refused.exit_code == 1 and "4 rows are not valid" in refused.output
    alone = cli(app, "send", "premium_unpaid", str(path), "--confirm", "--skip-invalid", "--by", "staff-1")
    assert alone.exit_code == 1 and "another staff member approves it" in alone.output
    with runtime.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(Broadcast)).scalar_one() == 0
    confirmed = cli(
        app,
        "send",
        "premium_unpaid",
        str(path),
        "--confirm",
        "--skip-invalid",
        "--by",
        "staff-1",
        "--approved-by",
        "staff-2",
    )
    assert confirmed.exit_code == 0, confirmed.output
    assert "950 messages queued" in confirmed.output

    with emulated_line(runtime) as line:
        for _ in range(6):
            send_due(runtime, drain)
        pushed = [r.body for r in line.requests_to("/v2/bot/message/push")]
    with runtime.engine.connect() as connection:
        ledger = connection.execute(select(Delivery)).all()
    by_customer = {}
    for row in ledger:
        assert row.customer_id not in by_customer  # once each
        by_customer[row.customer_id] = row
    expected = {c: "line" for c, *_ in people["line"]} | {c: "sms" for c, *_ in people["sms"]}
    expected |= {c: "email" for c, *_ in people["email"]}
    assert {c: row.channel for c, row in by_customer.items()} == expected
    assert {row.status for row in ledger} <= {"sent", "delivered"}, {row.status for row in ledger}
    assert sorted(body["to"] for body in pushed) == sorted(line_id for _, _, line_id, _, _ in people["line"])
    first = next(body for body in pushed if body["to"] == people["line"][0][2])
    words = json.dumps(first["messages"], ensure_ascii=False)
    assert "P-C00000" in words and "12,000円" in words and "佐藤様" in words

    notice_id = confirmed.output.split("notice ")[1].split(":")[0]
    result = cli(app, "result", notice_id, "--out", str(tmp_path / "result.csv"))
    assert result.exit_code == 0, result.output
    with open(tmp_path / "result.csv", encoding="utf-8-sig", newline="") as handle:
        lines = list(csv.DictReader(handle))
    assert len(lines) == 1000 and [int(row["行"]) for row in lines] == list(range(2, 1002))
    outcomes = {row["結果"] for row in lines}
    assert outcomes <= {"sent", "delivered", "not_sent"}
    not_sent = [row for row in lines if row["結果"] == "not_sent"]
    assert len(not_sent) == 10 + NOWHERE and {row["理由"] for row in not_sent} == {
        "invalid", "unknown_customer", "no_such_phone", "duplicate_customer", "no_key", "no_address"
    }  # fmt: skip
    assert lines[0]["顧客ID"] == "C00000" and lines[0]["チャネル"] == "line"

    exported = app.test_cli_runner().invoke(
        export_command, ["notices", "--since", date.today().isoformat(), "--out", str(tmp_path / "n.csv")]
    )
    assert exported.exit_code == 0, exported.output
    with open(tmp_path / "n.csv", encoding="utf-8-sig", newline="") as handle:
        sent = list(csv.DictReader(handle))
    assert len(sent) == 950 and {row["お知らせ"] for row in sent} == {"service_notice.premium_unpaid"}
    assert sent[0]["一覧の行"] == "line 2" and sent[0]["顧客ID"] == "C00000"

    again = cli(app, "send", "premium_unpaid", str(path), "--confirm", "--skip-invalid", "--by", "staff-1")
    assert again.exit_code == 0 and "sent already" in again.output
    with runtime.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(Delivery)).scalar_one() == len(ledger)


def test_a_list_that_cannot_be_used_is_refused_whole(app, runtime, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("顧客ID,証券番号,金額\nC1,P1,100\n", encoding="utf-8")
    missing = cli(app, "send", "premium_unpaid", str(bad))
    assert missing.exit_code == 1 and "missing required columns: 期限" in missing.output
    unknown = cli(app, "send", "no_such_notice", str(bad))
    assert (
        unknown.exit_code == 1
        and "unknown notice template" in unknown.output
        and "premium_unpaid" in unknown.output
    )
    listed = cli(app, "templates")
    assert "document_resubmission: 必要書類, 期限, 証券番号" in listed.output


HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')


def test_staff_upload_count_and_confirm_a_list_on_the_staff_pages(app, runtime, client, tmp_path):
    people = build(runtime)
    path = write_list(tmp_path / "未払い.csv", people)
    add_staff(app, "akiko", "agent")
    assert client.get("/inbox/notices").status_code == 403  # nobody signed in
    log_in(client, "akiko")
    form = client.get("/inbox/notices").get_data(as_text=True)
    token = CSRF.findall(form)[-1]
    upload = {"csrf": token, "template": "premium_unpaid", "channels": "first_reachable:line,sms,email"}
    counted = client.post(
        "/inbox/notices/dry-run",
        data=upload | {"list": (io.BytesIO(path.read_bytes()), "未払い.csv")},
        content_type="multipart/form-data",
    )
    page = counted.get_data(as_text=True)
    assert counted.status_code == 200 and 'id="confirm"' in page and "950件を送る" in page
    assert "顧客IDが見つからない" in page and "P-C0" not in page
    with runtime.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(Delivery)).scalar_one() == 0
    hidden = dict(HIDDEN.findall(page))
    refused = client.post("/inbox/notices/confirm", data=hidden)  # rows not valid, not asked to skip them
    assert refused.status_code == 422 and "4 rows are not valid" in refused.get_data(as_text=True)
    tampered = client.post(
        "/inbox/notices/confirm", data=hidden | {"skip_invalid": "yes", "sha256": "0" * 64}
    )
    assert tampered.status_code == 400
    done = client.post("/inbox/notices/confirm", data=hidden | {"skip_invalid": "yes"})
    text = done.get_data(as_text=True)
    assert done.status_code == 200 and "950 件の送信を受け付けました" in text
    notice_id = re.search(r"/inbox/notices/(\d+)/result.csv", text)[1]
    again = client.post("/inbox/notices/confirm", data=hidden | {"skip_invalid": "yes"})
    assert "送信済みです" in again.get_data(as_text=True)
    with runtime.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(Delivery)).scalar_one() == 950
        notice = connection.execute(select(Broadcast)).one()
    assert notice.created_by == "inbox:akiko"
    result = client.get(f"/inbox/notices/{notice_id}/result.csv")
    rows = list(csv.DictReader(io.StringIO(result.get_data().decode("utf-8-sig"), newline="")))
    assert len(rows) == 1000 and {row["結果"] for row in rows} == {"queued", "not_sent"}
