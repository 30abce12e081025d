"""/broadcast from the admin chat, driven by signed webhook events: the dry run counts what the database holds,
送信する sends once per recipient, large broadcasts need a second person who approves, /cancel stops one mid-way,
progress is posted once per step, and nobody outside the admin places runs anything. Every attempt is audited."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update

from bot.delivery.broadcast_jobs import report_progress
from bot.delivery.channels.sms_billing import Carrier, segments
from bot.delivery.content import Links, Template, sms_text
from bot.delivery.outbox import DISPATCH_CLAIM, _claim, claim_token
from bot.delivery.sending import send_batch
from bot.staff.admin import pseudonym
from flows.dsl import Channel
from flows.engine import TOKYO
from models import (
    Broadcast,
    BroadcastStatus,
    Customer,
    CustomerActivity,
    CustomerChannels,
    Delivery,
    DeliveryStatus,
    FriendStatus,
    LineUser,
    Reservation,
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
from tests.integration.delivery_helpers import add_customer, add_row, ledger, line_id

CONFIRM, DROP = "a=admin_broadcast_confirm&v={}", "a=admin_broadcast_drop&v={}"


def broadcasts(runtime) -> list:
    with runtime.engine.connect() as connection:
        return connection.execute(select(Broadcast.__table__).order_by(Broadcast.id)).all()


def add_friends(runtime, count: int) -> list[str]:
    """`count` LINE friends who allow messages, written in three statements."""
    now, users = utcnow(), [line_id() for _ in range(count)]
    person = {"family_name": "山田", "given_name": "花子", "created_at": now, "updated_at": now}
    with runtime.engine.begin() as connection:
        ids = connection.execute(
            insert(Customer.__table__).returning(Customer.__table__.c.id, sort_by_parameter_order=True),
            [person] * count,
        ).scalars()
        rows = [
            {"customer_id": i, "line_user_id": u, "line_permitted": True, "updated_at": now}
            for i, u in zip(ids, users)
        ]
        connection.execute(insert(CustomerChannels.__table__), rows)
        friends = [
            {"line_user_id": u, "friend_status": "following", "created_at": now, "updated_at": now}
            for u in users
        ]
        connection.execute(insert(LineUser.__table__), friends)
    return users


def customers_got(line) -> int:
    """Messages LINE took for anyone but the admin chat."""
    return sum(1 for message in line.sent_messages() if message.to != ADMIN_GROUP)


def broadcast_rows(runtime) -> list:
    return [row for row in ledger(runtime) if row.broadcast_id is not None]


def claim_at(runtime, moment: datetime) -> str:
    """Claim the due rows like the dispatcher at `moment`, without queueing send jobs; returns the claim."""
    until = moment + DISPATCH_CLAIM
    _claim(runtime.engine, moment, until, set())
    return claim_token(until)


def japan(moment: datetime) -> str:
    return moment.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M")


def test_the_dry_run_counts_the_database_and_confirming_twice_sends_once(runtime, post_webhook, drain):
    """Recipients per channel and exclusions by reason (no address, no consent, blocked, capped) are the
    database's; 送信する writes exactly those rows, each recipient gets one message, a second tap sends nothing."""
    operator = new_user()
    with emulated_line(runtime) as line:
        staff_settings(runtime, operators=[operator], approvers=[])
        friends = [line_id() for _ in range(3)]
        reached = {Channel.LINE: [add_customer(runtime, line=user) for user in friends]}
        reached[Channel.SMS] = [
            add_customer(
                runtime, line=line_id(), friend=FriendStatus.BLOCKED, phone="+819012345678", sms_ok=True
            )
        ]
        reached[Channel.EMAIL] = [
            add_customer(runtime, line=line_id(), line_ok=False, email="a@example.com", email_ok=True)
        ]
        add_customer(runtime, email="b@example.com", email_ok=False)  # no consent anywhere
        add_customer(runtime)  # no address at all
        add_customer(runtime, line=line_id(), friend=FriendStatus.BLOCKED)  # blocked, nothing else
        capped_user = line_id()
        capped = add_customer(runtime, line=capped_user)
        earlier = add_row(runtime, capped)  # today's marketing message: the daily cap (1) is spent
        with runtime.engine.begin() as connection:
            connection.execute(update(Delivery.__table__).where(Delivery.id == earlier).values(status="sent"))
        chat = StaffChat(runtime, line, post_webhook, drain, operator, ADMIN_GROUP)
        counting, dry_run = chat.say("/配信 general_notice")
        [draft] = broadcasts(runtime)
        assert counting == f"配信 #{draft.id} の対象を集計しています。結果はこのトークに送ります。"
        assert "送信対象: 5人（LINE 3・SMS 1・メール 1・アプリ通知 0）" in dry_run
        assert "対象外: 連絡先なし 1・配信許可なし 1・LINEブロック 1・配信上限 1" in dry_run
        assert "LINE: 3通（マルチキャスト 1回）" in dry_run
        message = sms_text(
            Template("broadcast.general_notice", "ja"),
            {"service_name": "お客さまサポート"},
            Links(runtime.settings.public_base_url, "0" * 22),
            True,
            runtime.settings.sms_sender_label,
        )
        billed = segments(message, Carrier.UNKNOWN)  # no carrier known yet: the one that bills most
        assert (
            f"SMS: 1通・{billed}課金通数・約{billed * 10}円（税抜）" in dry_run
        )  # 10 yen a segment, first tier
        assert chat.last_buttons() == [CONFIRM.format(draft.id), DROP.format(draft.id)]
        assert draft.status == BroadcastStatus.DRAFT and draft.counts["recipients"] == 5
        assert [row.id for row in ledger(runtime)] == [earlier]  # a dry run writes nothing
        sent = chat.tap(CONFIRM.format(draft.id))
        assert sent == [
            f"配信 #{draft.id} を送信します（5人）。進み具合をこのトークでお知らせします。中止は /cancel {draft.id}",
            f"配信 #{draft.id} 完了: 送信 5件、送れなかったもの 0件（なし）",
        ]
        assert chat.tap(CONFIRM.format(draft.id)) == [f"配信 #{draft.id} は送信済みです。"]
        rows = [row for row in ledger(runtime) if row.broadcast_id == draft.id]
        assert {
            channel: sorted(r.customer_id for r in rows if r.channel == channel) for channel in reached
        } == reached
        assert {row.status for row in rows} == {DeliveryStatus.SENT}
        assert all(len(line.sent_messages(to=user)) == 1 for user in friends)
        assert line.sent_messages(to=capped_user) == []
    assert broadcasts(runtime)[0].status == BroadcastStatus.DONE
    assert [row[2:] for row in audit_rows(runtime)] == [
        ("broadcast", "done"),
        ("admin_broadcast_confirm", "done"),
        ("admin_broadcast_confirm", "duplicate"),
    ]


def test_above_the_threshold_only_another_approver_confirms(runtime, post_webhook, drain):
    """Two recipients over a threshold of one: the approver who prepared it is refused, so is an operator who
    is not an approver; a second approver's tap sends it. Nothing is written before that."""
    preparer, operator, approver = new_user(), new_user(), new_user()
    with emulated_line(runtime) as line:
        staff_settings(runtime, operators=[operator], approvers=[preparer, approver])
        runtime.settings = runtime.settings.model_copy(update={"broadcast_approval_threshold": 1})
        friends = add_friends(runtime, 2)
        mine = StaffChat(runtime, line, post_webhook, drain, preparer, ADMIN_GROUP)
        dry_run = mine.say("/broadcast general_notice --channels only:line")[1]
        assert "1人を超えるため、作成した方とは別の承認者が「送信する」を押したときに送信します。" in dry_run
        number = broadcasts(runtime)[0].id
        assert mine.tap(CONFIRM.format(number)) == [
            f"配信 #{number} は2人で1人を超えています。作成した方とは別の承認者が「送信する」を押してください。"
        ]
        theirs = StaffChat(runtime, line, post_webhook, drain, operator, ADMIN_GROUP)
        theirs.answers()  # what the group read so far
        assert theirs.tap(CONFIRM.format(number)) == [
            f"配信 #{number} は2人で1人を超えるため、承認者の権限が必要です。"
        ]
        assert ledger(runtime) == [] and broadcasts(runtime)[0].status == BroadcastStatus.DRAFT
        second = StaffChat(runtime, line, post_webhook, drain, approver, ADMIN_GROUP)
        second.answers()
        assert second.tap(CONFIRM.format(number))[0].startswith(f"配信 #{number} を送信します（2人）")
        assert all(len(line.sent_messages(to=user)) == 1 for user in friends)
    assert broadcasts(runtime)[0].confirmed_by == approver
    assert [row[0::2] + row[3:] for row in audit_rows(runtime)] == [
        (preparer, "broadcast", "done"),
        (preparer, "admin_broadcast_confirm", "refused"),
        (operator, "admin_broadcast_confirm", "refused"),
        (approver, "admin_broadcast_confirm", "done"),
    ]


def test_a_scheduled_broadcast_cancelled_mid_way_stops_the_rest(runtime, post_webhook, drain):
    """--at writes the rows due at that moment (Japan time); /cancel typed while the send job is between its
    first and second chunk stops the 150 not yet sent, and the final result says so."""
    operator = new_user()
    at = (utcnow() + timedelta(days=1)).replace(second=0, microsecond=0)
    with emulated_line(runtime) as line:
        staff_settings(runtime, operators=[operator], approvers=[])
        add_friends(runtime, 250)
        chat = StaffChat(runtime, line, post_webhook, drain, operator, ADMIN_GROUP)
        command = (
            f'/broadcast churn_prevention.a --channels only:line --purpose transactional --at "{japan(at)}"'
        )
        assert "LINE: 250通（個別送信 250回）" in chat.say(command)[1]  # names in the text: one push each
        number = broadcasts(runtime)[0].id
        assert chat.tap(CONFIRM.format(number)) == [
            f"配信 #{number} を {japan(at)}（日本時間）に予約しました（250人）。中止は /cancel {number}"
        ]
        assert {row.due_at for row in ledger(runtime)} == {at} and customers_got(line) == 0
        claim = claim_at(runtime, at)
        ticks = iter(range(100))

        def clock() -> (
            datetime
        ):  # the job asks the time once, then before each chunk: cancel before the second
            if next(ticks) == 2:
                assert chat.say(f"/配信中止 #{number}") == [
                    f"配信 #{number} を中止しました。送信待ちの 150件を止めました。"
                ]
            return at

        ids = [row.id for row in ledger(runtime)]
        counts = send_batch(runtime.engine, runtime.redis, runtime.settings, Channel.LINE, ids, claim, clock)
        assert counts["sent"] == 100 and customers_got(line) == 100
        assert report_progress(runtime.engine, runtime.redis, number) is True
        drain()
        assert chat.answers() == [f"配信 #{number} 中止: 送信 100件、送れなかったもの 150件（中止 150）"]
        assert chat.say(f"/cancel {number}") == [f"配信 #{number} は中止済みのため、止めるものはありません。"]
    statuses = Counter((row.status, row.error) for row in ledger(runtime))
    assert statuses == {(DeliveryStatus.SENT, None): 100, (DeliveryStatus.FAILED, "cancelled"): 150}
    assert [row[2:] for row in audit_rows(runtime)] == [
        ("broadcast", "done"),
        ("admin_broadcast_confirm", "done"),
        ("cancel", "done"),
        ("cancel", "refused"),
    ]


def test_progress_is_posted_once_per_step_and_the_result_once(runtime, post_webhook, drain):
    """400 pushes, 100 a chunk, the progress looked at before each chunk and twice at the end: 25, 50 and 75 %
    and the final result are each posted once, to the group that prepared the broadcast."""
    operator = new_user()
    at = (utcnow() + timedelta(hours=2)).replace(second=0, microsecond=0)
    with emulated_line(runtime) as line:
        staff_settings(runtime, operators=[operator], approvers=[])
        add_friends(runtime, 400)
        chat = StaffChat(runtime, line, post_webhook, drain, operator, ADMIN_GROUP)
        chat.say(
            f'/broadcast churn_prevention.a --channels only:line --purpose transactional --at "{japan(at)}"'
        )
        number = broadcasts(runtime)[0].id
        chat.tap(CONFIRM.format(number))
        claim = claim_at(runtime, at)

        def clock() -> datetime:
            assert report_progress(runtime.engine, runtime.redis, number) is False
            return at

        ids = [row.id for row in ledger(runtime)]
        assert (
            send_batch(runtime.engine, runtime.redis, runtime.settings, Channel.LINE, ids, claim, clock)[
                "sent"
            ]
            == 400
        )
        assert report_progress(runtime.engine, runtime.redis, number) is True
        assert report_progress(runtime.engine, runtime.redis, number) is True
        drain()
        assert chat.answers() == [
            f"配信 #{number}: 25% 済み（100/400件）",
            f"配信 #{number}: 50% 済み（200/400件）",
            f"配信 #{number}: 75% 済み（300/400件）",
            f"配信 #{number} 完了: 送信 400件、送れなかったもの 0件（なし）",
        ]
    assert broadcasts(runtime)[0].status == BroadcastStatus.DONE


def test_outside_the_admin_places_nothing_runs_and_every_attempt_is_audited(runtime, post_webhook, drain):
    """A stranger in 1:1, or staff in a group that is not an admin group, can neither prepare, confirm, set
    aside nor cancel a broadcast: nothing is written but the audit rows."""
    operator, stranger = new_user(), new_user()
    with emulated_line(runtime) as line:
        staff_settings(runtime, operators=[operator], approvers=[])
        add_friends(runtime, 2)
        StaffChat(runtime, line, post_webhook, drain, operator, ADMIN_GROUP).say("/broadcast general_notice")
        number = broadcasts(runtime)[0].id
        outsider = StaffChat(runtime, line, post_webhook, drain, stranger, None)
        assert "/" not in outsider.say("/broadcast general_notice")[0]  # the ordinary bot's answer
        assert outsider.tap(CONFIRM.format(number)) == []
        elsewhere = StaffChat(runtime, line, post_webhook, drain, operator, OTHER_GROUP)
        assert elsewhere.say("/broadcast general_notice") == []
        assert elsewhere.tap(CONFIRM.format(number)) == []
        assert elsewhere.tap(DROP.format(number)) == []
        assert elsewhere.say(f"/cancel {number}") == []
    [draft] = broadcasts(runtime)
    assert draft.status == BroadcastStatus.DRAFT and broadcast_rows(runtime) == []
    assert audit_rows(runtime) == [
        (operator, ADMIN_GROUP, "broadcast", "done"),
        (pseudonym(runtime.settings, stranger), "1:1", "broadcast", "refused"),  # often a customer: hashed
        (pseudonym(runtime.settings, stranger), "1:1", "admin_broadcast_confirm", "refused"),
        (operator, OTHER_GROUP, "broadcast", "refused"),
        (operator, OTHER_GROUP, "admin_broadcast_confirm", "refused"),
        (operator, OTHER_GROUP, "admin_broadcast_drop", "refused"),
        (operator, OTHER_GROUP, "cancel", "refused"),
    ]


def test_bad_arguments_are_named_with_the_usage_and_filters_narrow_the_count(runtime, post_webhook, drain):
    """An unknown template or field, a value of the wrong type, a past --at or an unknown ladder: the problem
    and the usage line, no draft. Filters on the customer, their activity and their records narrow the count;
    quiet hours at the --at moment are counted; やめる sets the draft aside."""
    operator = new_user()
    with emulated_line(runtime) as line:
        staff_settings(runtime, operators=[operator], approvers=[])
        chat = StaffChat(runtime, line, post_webhook, drain, operator, ADMIN_GROUP)
        usage = "使い方: " + chat.say("/help broadcast")[0]
        for command, problem in (
            (
                "/broadcast nothing_here",
                "「nothing_here」という配信できるテンプレートはありません（例: general_notice）。",
            ),
            (
                "/broadcast renewal_reminder.a",
                "「renewal_reminder.a」という配信できるテンプレートはありません（例: general_notice）。",
            ),
            (
                "/broadcast general_notice customer.shoe_size=27",
                "「customer.shoe_size」という項目はありません",
            ),
            (
                "/broadcast general_notice contract.contracted=maybe",
                "「contract.contracted」の値「maybe」は使えません（true か false）。",
            ),
            ("/broadcast general_notice prefecture", "「prefecture」は 項目=値 の形で指定してください"),
            ("/broadcast general_notice --channels all:line,sms", "--channels「all:line,sms」は使えません"),
            ('/broadcast general_notice --at "2020-01-01 10:00"', "--at 2020-01-01 10:00 は過ぎた日時です。"),
            ("/broadcast general_notice --at tomorrow", "--at「tomorrow」は"),
        ):
            [answer] = chat.say(command)
            assert answer.startswith(problem) and answer.endswith(usage), command
        assert chat.say("/broadcast") == [usage]
        assert broadcasts(runtime) == []
        tokyo = [add_customer(runtime, line=line_id()) for _ in range(3)]
        add_customer(runtime, line=line_id())  # elsewhere
        with runtime.engine.begin() as connection:
            connection.execute(
                update(Customer.__table__)
                .where(Customer.__table__.c.id.in_(tokyo))
                .values(prefecture="東京都")
            )
            connection.execute(
                insert(CustomerActivity.__table__).values(
                    customer_id=tokyo[0], app_user=True, updated_at=utcnow()
                )
            )
        night = datetime.combine(
            (utcnow() + timedelta(days=2)).astimezone(TOKYO).date(), datetime.min.time(), TOKYO
        )
        runtime.settings = runtime.settings.model_copy(update={"quiet_hours": "21:00-09:00"})
        at = night.replace(hour=22)
        dry_run = chat.say(
            f'/broadcast general_notice customer.prefecture=東京都 activity.app_user=false --at "{japan(at)}"'
        )[1]
        assert "条件: customer.prefecture=東京都, activity.app_user=false" in dry_run
        assert "送信対象: 2人（LINE 2・" in dry_run and "夜間の停止時間で朝まで保留: 2人" in dry_run
        number = broadcasts(runtime)[0].id
        assert chat.tap(DROP.format(number)) == [f"配信 #{number} を取りやめました。"]
        visits = {"customer_id": tokyo[1], "updated_at": utcnow()}
        with runtime.engine.begin() as connection:  # one record must match every filter on its kind
            connection.execute(
                insert(Reservation.__table__),
                [
                    {**visits, "reservation_code": "R1", "store_code": "S01", "visited": False},
                    {**visits, "reservation_code": "R2", "store_code": "S02", "visited": True},
                ],
            )
        assert (
            "送信対象: 1人"
            in chat.say("/broadcast general_notice reservation.store_code=S02 reservation.visited=true")[1]
        )
        nobody = chat.say("/broadcast general_notice reservation.store_code=S01 reservation.visited=true")[1]
        assert "送信対象: 0人（LINE 0・SMS 0・メール 0・アプリ通知 0）" in nobody
        empty = broadcasts(runtime)[-1].id
        assert chat.tap(CONFIRM.format(empty)) == [f"配信 #{empty} は送信対象が0人のため送信しません。"]
        assert chat.tap(CONFIRM.format(number)) == [f"配信 #{number} は中止済みです。"]
    assert broadcasts(runtime)[0].status == BroadcastStatus.CANCELLED and ledger(runtime) == []
    assert Counter(row[3] for row in audit_rows(runtime)) == {"usage": 9, "done": 5, "refused": 2}


def test_each_broadcast_counts_towards_a_customers_cap(runtime):
    """Two broadcasts to one customer in a week are two marketing messages in the cap's history, not one."""
    from bot.delivery.rules import load_history
    from models import utcnow
    from tests.integration.delivery_helpers import add_customer, add_row, new_broadcast

    customer = add_customer(runtime, email="cap@example.jp", email_ok=True)
    for _ in range(2):
        broadcast = new_broadcast(runtime)
        add_row(runtime, customer, channel="email", step="broadcast", broadcast_id=broadcast.id)
    with runtime.engine.connect() as connection:
        history = load_history(connection, [customer], utcnow())
    assert len(history.sends[customer]) == 2
