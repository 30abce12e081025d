"""The admin chat's look-up and desk commands: /stats (each scenario's funnel), /why (the explain trace), /customer
(masked personal data, audited as a personal-data access), /coupon and /request (as the CLI does them, the customer
told in LINE); bad arguments get the usage line, and someone who may not command runs nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import insert, select, update

from bot.delivery.content import LINE_TEXT_LIMIT
from bot.scenarios.runner import tick
from bot.staff.admin import pseudonym
from models import (
    AdminAudit,
    ContractSummary,
    Coupon,
    Customer,
    Delivery,
    Enrollment,
    PrivacyRequest,
    ServiceRequest,
    TraceEntry,
    utcnow,
)
from tests.integration.admin_helpers import (
    ADMIN_GROUP,
    OTHER_GROUP,
    StaffChat,
    audit_rows,
    new_user,
    staff_settings,
)
from tests.integration.chat_helpers import emulated_line
from tests.integration.delivery_helpers import add_customer, line_id
from tests.integration.scenario_helpers import load, person, write
from tests.integration.test_account_link import campaign


def operator_chat(runtime, line, post_webhook, drain) -> StaffChat:
    operator = new_user()
    staff_settings(runtime, operators=[operator], approvers=[])
    return StaffChat(runtime, line, post_webhook, drain, operator, ADMIN_GROUP)


def audit_log(runtime) -> list[tuple]:
    """(command, arguments, result, detail, personal_data) of every audit row, oldest first."""
    columns = (AdminAudit.command, AdminAudit.arguments, AdminAudit.result, AdminAudit.detail)
    with runtime.engine.connect() as connection:
        rows = connection.execute(select(*columns, AdminAudit.personal_data).order_by(AdminAudit.id))
        return [tuple(row) for row in rows]


def set_code(runtime, customer_id: int, code: str) -> None:
    with runtime.engine.begin() as connection:
        connection.execute(update(Customer).where(Customer.id == customer_id).values(customer_code=code))


def enrol(runtime, customer_id: int, scenario_id: str, **values) -> int:
    now = utcnow()
    row = {"status": "done", "held_out": False, "outcome": None, "wake_token": 0} | values
    with runtime.engine.begin() as connection:
        return connection.execute(
            insert(Enrollment.__table__)
            .values(
                scenario_id=scenario_id,
                customer_id=customer_id,
                anchor_key=f"customer:{customer_id}",
                entered_at=now,
                updated_at=now,
                **row,
            )
            .returning(Enrollment.__table__.c.id)
        ).scalar_one()


def delivered(runtime, enrollment_id: int, customer_id: int, channel: str, **values) -> None:
    now = utcnow()
    row = {"status": "sent", "sent_at": now} | values
    with runtime.engine.begin() as connection:
        connection.execute(
            insert(Delivery.__table__).values(
                enrollment_id=enrollment_id,
                customer_id=customer_id,
                step=f"A{channel}",
                template="visit_reminder.a",
                channel=channel,
                purpose="marketing",
                due_at=now,
                attempts=1,
                created_at=now,
                updated_at=now,
                **row,
            )
        )


def test_help_lists_the_look_up_and_desk_commands(runtime, post_webhook, drain):
    """/help names each command with its Japanese name; /help coupon answers its usage line."""
    with emulated_line(runtime) as line:
        chat = operator_chat(runtime, line, post_webhook, drain)
        [listing] = chat.say("/help")
        for name in (
            "/stats（集計）",
            "/why（理由）",
            "/customer（顧客）",
            "/coupon（クーポン）",
            "/request（受付）",
        ):
            assert name in listing
        [usage] = chat.say("/help coupon")
        assert usage.startswith("/coupon issue キャンペーン 顧客ID ｜ /coupon revoke コード")


def test_stats_shows_each_scenarios_funnel_with_the_holdout(runtime, post_webhook, drain):
    """/stats 5 counts #5's entrants (and its holdout), messages sent per channel, entrants who engaged,
    conversions with the rate for the treated and the holdout, and opt-outs; /stats lists every scenario;
    an unknown scenario gets the usage line."""
    people = [add_customer(runtime) for _ in range(5)]
    won = enrol(runtime, people[0], "visit_reminder", outcome="converted")
    delivered(runtime, won, people[0], "line", opened_at=utcnow())
    delivered(runtime, won, people[0], "email")
    left = enrol(runtime, people[1], "visit_reminder", outcome="opted_out")
    delivered(runtime, left, people[1], "line")
    waiting = enrol(runtime, people[2], "visit_reminder", status="active")
    delivered(runtime, waiting, people[2], "sms", status="queued", sent_at=None)
    enrol(runtime, people[3], "visit_reminder", held_out=True, outcome="converted")
    enrol(runtime, people[4], "visit_reminder", held_out=True)
    enrol(runtime, people[4], "dormant_quote", outcome="finished")
    with emulated_line(runtime) as line:
        chat = operator_chat(runtime, line, post_webhook, drain)
        [one] = chat.say("/stats 5")
        assert (
            "#5 来店予約後の来店リマインドシナリオ: 登録 5（対照 2）／送信 LINE 2・メール 1／反応 1／"
            "成果 2（対照 1） 率 33.3%（対照 50.0%）／停止 1"
        ) in one
        [every] = chat.say("/集計")
        assert every.count("\n#") == len(runtime.settings.scenarios)
        assert "登録 1／送信 なし／反応 0／成果 0 率 0.0%／停止 0" in every  # dormant_quote: no holdout
        assert chat.say("/stats 99") == ["使い方: /stats [番号]（例: /stats 5）"]
    assert [row[:4] for row in audit_log(runtime)] == [
        ("stats", "5", "done", "visit_reminder"),
        ("stats", None, "done", "all"),
        ("stats", "99", "usage", None),
    ]


def test_why_shows_the_trace_in_japanese_and_is_a_personal_data_access(
    runtime, post_webhook, drain, tmp_path
):
    """/why C1 5 shows what the engine decided for C1 in #5; for a scenario C2 is not in, its entry conditions;
    an unknown customer is named (a phone number typed by mistake masked); each look-up is audited as a
    personal-data access, the key typed kept as a keyed hash."""
    rows = [
        person("C1", email="a@example.com", email_ok="真"),
        person("C2", email="b@example.com", email_ok="真"),
    ]
    load(runtime, "F5", write(tmp_path / "f5.csv", rows))
    visits = [
        {
            "reservation_id": "R1",
            "email_main": "a@example.com",
            "email_permitted": "",
            "visit_on": "2026/06/20",
            "cancelled": "偽",
        },
        {
            "reservation_id": "R2",
            "email_main": "b@example.com",
            "email_permitted": "",
            "visit_on": "2026/06/20",
            "cancelled": "真",
        },
    ]
    load(runtime, "F3", write(tmp_path / "f3.csv", visits))
    tick(runtime.engine, runtime.settings.scenarios, datetime.fromisoformat("2026-06-13T10:00:00+09:00"))
    with emulated_line(runtime) as line:
        chat = operator_chat(runtime, line, post_webhook, drain)
        [trace] = chat.say("/why C1 5")
        assert trace.startswith("顧客ID C1（内部ID ") and "（#5 来店予約後の来店リマインドシナリオ）" in trace
        assert "メールで送信予定に登録しました（visit_reminder.a" in trace
        assert "2026-06-16 10:00 まで待機します" in trace
        assert "シナリオに登録しました" in chat.say("/理由 C1")[0]
        [outside] = chat.say("/why C2 5")
        assert outside.splitlines()[1:] == [
            "このシナリオには登録されていません。本日の登録条件:",
            "✗ 来店キャンセル：なし",
            "✓ 来店：なし",
            "✓ 来店予約後の契約：なし",
        ]
        assert chat.say("/why 09012345678") == [
            "顧客「090-****-5678」は見つかりません。顧客ID・電話番号・メールアドレス・LINEユーザーID・内部IDで指定できます。"
        ]
        assert chat.say("/why") == [
            "使い方: /why 顧客 [シナリオ番号]（顧客は顧客ID・電話番号・メールアドレス・LINEユーザーID・内部ID。例: /why C0001 5）"
        ]
    log = audit_log(runtime)
    key = partial(pseudonym, runtime.settings)  # the audit keeps the key typed as a keyed hash only
    assert [(row[0], row[1], row[2], row[4]) for row in log] == [
        ("why", f"{key('C1')} 5", "done", True),
        ("why", key("C1"), "done", True),
        ("why", f"{key('C2')} 5", "done", True),
        ("why", key("09012345678"), "not_found", True),
        ("why", None, "usage", False),
    ]


def test_a_long_trace_keeps_the_newest_lines_within_one_line_message(runtime, post_webhook, drain):
    """A customer with hundreds of decisions gets the newest ones in one LINE message, and how many older ones
    were left out."""
    customer_id = add_customer(runtime)
    set_code(runtime, customer_id, "C9")
    start = utcnow() - timedelta(days=30)
    with runtime.engine.begin() as connection:
        connection.execute(
            insert(TraceEntry.__table__),
            [
                {
                    "customer_id": customer_id,
                    "scenario_id": "dormant_quote",
                    "at": start + timedelta(minutes=n),
                }
                | {"step": f"step{n:03d}", "code": "segment_yes"}
                for n in range(300)
            ],
        )
    with emulated_line(runtime) as line:
        chat = operator_chat(runtime, line, post_webhook, drain)
        [trace] = chat.say("/why C9")
    assert len(trace) <= LINE_TEXT_LIMIT and "step299" in trace and "step000" not in trace
    assert "件は省略しました" in trace.splitlines()[1]


def test_customer_look_up_shows_masked_data_only_and_is_audited(runtime, post_webhook, drain):
    """/customer by 顧客ID shows the masked record (name, phone, email), LINE, permissions, contract, scenarios
    and open requests; by phone several matches are listed masked with their ids; by email in another case it
    is found; what was searched for is kept in the audit as a keyed hash only, marked a personal-data access."""
    taro = add_customer(
        runtime, line=line_id(), phone="+819012345678", email="taro@example.jp", email_ok=True
    )
    set_code(runtime, taro, "C100")
    sibling = add_customer(runtime, phone="+819012345678", family_name="佐藤")
    now = utcnow()
    with runtime.engine.begin() as connection:
        connection.execute(
            insert(ContractSummary.__table__).values(customer_id=taro, contracted=True, updated_at=now)
        )
        connection.execute(
            insert(ServiceRequest.__table__).values(
                reference="R260101-AAAA",
                customer_id=taro,
                kind="policy_reissue",
                status="received",
                created_at=now,
                updated_at=now,
            )
        )
    enrol(runtime, taro, "visit_reminder", status="active")
    with emulated_line(runtime) as line:
        chat = operator_chat(runtime, line, post_webhook, drain)
        [card] = chat.say("/customer C100")
        assert card.splitlines() == [
            f"顧客ID C100（内部ID {taro}）",
            "氏名: 山＊ ＊＊＊",
            "電話: 090-****-5678",
            "メール: t***@example.jp",
            "LINE: 友だちのみ（ID連携なし）",
            "配信許可: LINE 可・メール 可・SMS 未設定・アプリ通知 宛先なし",
            "契約: あり",
            "進行中のシナリオ: #5 来店予約後の来店リマインドシナリオ",
            "受付中のお手続き: R260101-AAAA 証券の再発行（受付済み）",
        ]
        [both] = chat.say("/顧客 090 1234 5678")
        assert f"顧客ID C100（内部ID {taro}） 山＊ ＊＊＊ 090-****-5678 t***@example.jp" in both
        assert f"顧客ID未登録（内部ID {sibling}） 佐＊ ＊＊＊ 090-****-5678" in both
        assert f"顧客ID C100（内部ID {taro}）" in chat.say("/customer TARO@Example.jp")[0]
        assert chat.say("/customer hanako@example.jp") == ["「h***@example.jp」に該当する顧客はいません。"]
        assert chat.say("/customer") == [
            "使い方: /customer 顧客ID・電話番号・メールアドレス・LINEユーザーID・内部ID（例: /customer 090-1234-5678）"
        ]
        seen = f"{card}\n{both}"
    for personal in ("山田", "花子", "佐藤", "9012345678", "1234", "taro@"):
        assert personal not in seen
    key = partial(pseudonym, runtime.settings)  # no 顧客ID, phone or address in the clear in the audit
    assert audit_log(runtime) == [
        ("customer", key("C100"), "done", f"customers {taro}", True),
        ("customer", key("090 1234 5678"), "done", f"customers {taro},{sibling}", True),
        ("customer", key("TARO@Example.jp"), "done", f"customers {taro}", True),
        ("customer", key("hanako@example.jp"), "not_found", "no match", True),
        ("customer", None, "usage", None, False),
    ]


def test_every_command_taking_a_customer_finds_them_as_the_cli_does(runtime, post_webhook, drain):
    """/why, /coupon issue, /export and /erase find a customer by email, phone or LINE user id as /customer does;
    a phone number on two records gets the two, masked, to choose from (audited as ambiguous), and nothing is
    issued or asked for; a customer with no reservation is told so in /why's entry check."""
    campaign(runtime, "VISIT")
    customer_line = line_id()
    taro = add_customer(runtime, line=customer_line, email="taro@example.jp")
    set_code(runtime, taro, "C100")
    twins = [add_customer(runtime, phone="+818011112222", family_name=name) for name in ("佐藤", "鈴木")]
    with emulated_line(runtime) as line:
        chat = operator_chat(runtime, line, post_webhook, drain)
        [found] = chat.say("/why taro@example.jp 5")
        assert found.splitlines() == [
            f"顧客ID C100（内部ID {taro}） の判断記録（#5 来店予約後の来店リマインドシナリオ）",
            "このシナリオには登録されていません。本日の登録条件:",
            "✗ 来店予約の記録がありません",
        ]
        assert chat.say(f"/why {customer_line}")[0].startswith(
            f"顧客ID C100（内部ID {taro}） の判断記録はありません"
        )
        choices = [
            "複数の顧客が該当しました。顧客IDか内部ID（id:42 の形）で指定してください。",
            f"顧客ID未登録（内部ID {twins[0]}） 佐＊ ＊＊＊ 080-****-2222",
            f"顧客ID未登録（内部ID {twins[1]}） 鈴＊ ＊＊＊ 080-****-2222",
        ]
        for command in ("/why 080-1111-2222", "/coupon issue VISIT 08011112222", "/export +818011112222"):
            assert chat.say(command) == ["\n".join(choices)], command
        assert "見つかりません" in chat.say("/erase nobody@example.jp")[0]
        assert f"顧客ID未登録（内部ID {twins[1]}）" in chat.say(f"/export id:{twins[1]}")[0]
    with runtime.engine.connect() as connection:
        assert connection.execute(select(Coupon.id)).first() is None
        [(asked, asked_number)] = connection.execute(
            select(PrivacyRequest.customer_id, PrivacyRequest.id)
        ).all()
    assert asked == twins[1]
    key = partial(pseudonym, runtime.settings)
    both = f"customers {twins[0]},{twins[1]}"
    assert audit_log(runtime) == [  # the customers shown to choose from make a personal-data access
        ("why", f"{key('taro@example.jp')} 5", "done", f"customer {taro}", True),
        ("why", key(customer_line), "done", f"customer {taro}", True),
        ("why", key("080-1111-2222"), "ambiguous", both, True),
        ("coupon", f"issue VISIT {key('08011112222')}", "ambiguous", both, True),
        ("export", key("+818011112222"), "ambiguous", both, True),
        ("erase", key("nobody@example.jp"), "not_found", "no customer", False),
        ("export", key(f"id:{twins[1]}"), "queued", f"customer {twins[1]}: request {asked_number}", False),
    ]


def test_coupon_commands_issue_redeem_and_revoke_as_the_cli_does(runtime, post_webhook, drain):
    """/coupon issue sends the coupon in LINE (once: a second issue finds it held); redeem uses it once; revoke
    withdraws an unused one; an unknown campaign, customer or code is refused with the reason."""
    campaign(runtime, "VISIT", title="来店特典", benefit="QUOカード500円分")
    customer_line = line_id()
    on_line = add_customer(runtime, line=customer_line)
    set_code(runtime, on_line, "C1")
    offline = add_customer(runtime)
    set_code(runtime, offline, "C2")
    with emulated_line(runtime) as line:
        line.add_friend(customer_line)
        chat = operator_chat(runtime, line, post_webhook, drain)
        [issued] = chat.say("/coupon issue VISIT C1")
        assert "顧客ID C1" in issued and "（来店特典、" in issued and "LINEでお届けします" in issued
        text, bubble = [m.message for m in line.sent_messages(to=customer_line)]
        assert "クーポン「来店特典」をお届けします" in text["text"] and bubble["type"] == "flex"
        assert "すでにお持ちです" in chat.say("/クーポン 発行 VISIT C1")[0]
        assert chat.say("/coupon issue NOPE C1") == ["キャンペーン「NOPE」はありません。"]
        assert "見つかりません" in chat.say("/coupon issue VISIT C404")[0]
        assert "コードをお伝えください" in chat.say("/coupon issue VISIT C2")[0]
        with runtime.engine.connect() as connection:
            first, second = connection.execute(select(Coupon.code).order_by(Coupon.id)).scalars()
        assert "使用済みにしました" in chat.say(f"/coupon redeem {first.lower()}")[0]
        assert chat.say(f"/coupon redeem {first}") == [
            f"クーポン {first} は使用済みにできません（使用済み）。"
        ]
        assert "取り消しました" in chat.say(f"/coupon revoke {second[:5]}-{second[5:]}")[0]
        assert "該当するクーポンがありません" in chat.say("/coupon revoke ZZZZZZZZZZ")[0]
        assert chat.say("/coupon give VISIT C1")[0].startswith("使い方: /coupon issue")
        assert len(line.sent_messages(to=customer_line)) == 2  # the coupon, once
    with runtime.engine.connect() as connection:
        statuses = connection.execute(select(Coupon.status, Coupon.redeemed_via).order_by(Coupon.id)).all()
    assert [tuple(s) for s in statuses] == [("redeemed", "staff"), ("revoked", None)]
    assert [row[2] for row in audit_log(runtime)] == [
        "done",
        "already",
        "refused",
        "not_found",
        "done",
        "done",
        "refused",
        "done",
        "refused",
        "usage",
    ]


def test_request_commands_list_and_move_requests_and_tell_the_customer(runtime, post_webhook, drain):
    """/request list shows open requests; start and close move one along (case ignored) and the customer is told
    in LINE each time; closing again changes nothing; an unknown reference or scope is answered."""
    customer_line = line_id()
    customer_id = add_customer(runtime, line=customer_line)
    now = utcnow()
    with runtime.engine.begin() as connection:
        connection.execute(
            insert(ServiceRequest.__table__).values(
                reference="R260101-BBBB",
                customer_id=customer_id,
                kind="deduction_reissue",
                status="received",
                created_at=now,
                updated_at=now,
            )
        )
    with emulated_line(runtime) as line:
        line.add_friend(customer_line)
        chat = operator_chat(runtime, line, post_webhook, drain)
        [listed] = chat.say("/request list")
        assert "受付一覧（未完了・新しい順 1件）" in listed
        assert "R260101-BBBB" in listed and "控除証明書の再発行 受付済み" in listed
        assert f"顧客ID未登録（内部ID {customer_id}）" in listed
        assert chat.say("/request start r260101-bbbb") == [
            "R260101-BBBB を「対応中」にしました。お客さまにLINEでお知らせします。"
        ]
        assert "「完了」にしました" in chat.say("/受付 完了 R260101-BBBB")[0]
        assert chat.say("/request close R260101-BBBB") == [
            "R260101-BBBB はすでに「完了」です。変更していません。"
        ]
        assert chat.say("/request close R000000-XXXX") == ["受付番号 R000000-XXXX は見つかりません。"]
        assert chat.say("/request list") == ["受付はありません（未完了）。"]
        assert "完了" in chat.say("/request list all")[0]
        assert chat.say("/request list mine")[0].startswith("使い方: /request list")
        told = [str(m.message) for m in line.sent_messages(to=customer_line)]
    assert len(told) == 2 and "「対応中」" in told[0] and "「完了」" in told[1]
    with runtime.engine.connect() as connection:
        request = connection.execute(select(ServiceRequest)).one()
    assert request.status == "closed" and request.closed_at is not None
    assert [row[2] for row in audit_log(runtime)] == [
        "done",
        "done",
        "done",
        "unchanged",
        "not_found",
        "done",
        "done",
        "usage",
    ]


def test_someone_who_may_not_command_changes_nothing_and_is_audited(runtime, post_webhook, drain):
    """An operator in another group and a stranger in 1:1 get no answer to the desk commands (the stranger the
    ordinary bot); nothing is redeemed or closed, and each attempt is audited as refused."""
    campaign(runtime, "VISIT")
    customer_id = add_customer(runtime)
    set_code(runtime, customer_id, "C1")
    now = utcnow()
    with runtime.engine.begin() as connection:
        connection.execute(
            insert(ServiceRequest.__table__).values(
                reference="R260101-CCCC",
                customer_id=customer_id,
                kind="complaint",
                status="received",
                created_at=now,
                updated_at=now,
            )
        )
    operator, stranger = new_user(), new_user()
    with emulated_line(runtime) as line:
        staff_settings(runtime, operators=[operator], approvers=[])
        elsewhere = StaffChat(runtime, line, post_webhook, drain, operator, OTHER_GROUP)
        assert elsewhere.say("/coupon issue VISIT C1") == []
        assert elsewhere.say("/customer C1") == []
        alone = StaffChat(runtime, line, post_webhook, drain, stranger, None)
        assert "理解できませんでした" in alone.say("/request close R260101-CCCC")[0]
    with runtime.engine.connect() as connection:
        assert connection.execute(select(Coupon)).all() == []
        assert connection.execute(select(ServiceRequest.status)).scalar_one() == "received"
    assert audit_rows(runtime) == [
        (operator, OTHER_GROUP, "coupon", "refused"),
        (operator, OTHER_GROUP, "customer", "refused"),
        (pseudonym(runtime.settings, stranger), "1:1", "request", "refused"),
    ]
