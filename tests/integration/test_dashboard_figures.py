"""The dashboard's figures reconcile: over a small world built here by hand (customers, LINE users following and
blocked, linked IDs, permissions, app users, ledger rows of every status, channel and origin), each figure equals
a direct count of the tables, the figures agree with each other (linked customers are friends, the funnels' sent
add up to the ledger's scenario share), and `flask delivery status` and the admin chat's /stats show the same
numbers where they show them."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import func, insert, select

from bot.chat.account_link import bind
from bot.cli.delivery import SENT_HEADING
from bot.staff import dashboard
from bot.staff.ledger import ORIGINS
from bot.staff.page import reachable_now
from models import (
    Broadcast,
    ConsentEvent,
    Customer,
    CustomerActivity,
    CustomerChannels,
    Delivery,
    Enrollment,
    LineUser,
    utcnow,
)
from tests.integration.admin_helpers import ADMIN_GROUP, StaffChat, new_user, staff_settings
from tests.integration.chat_helpers import emulated_line

STATUSES = ("queued", "held", "paused", "sent", "delivered", "failed")
CHANNELS = ("line", "email", "sms", "push")


def add(connection, table, **values) -> int | None:
    result = connection.execute(insert(table.__table__).values(**values))
    return result.inserted_primary_key[0] if result.inserted_primary_key else None


def build_world(runtime) -> dict[str, int]:
    """Five LINE users (three following, one blocked, one never followed); three linked customers (one by the
    account-link flow, dated; one by an imported file, undated; one whose friend blocked us is not linked);
    permissions with and without history; app users; and, for two scenarios, a broadcast and the chat, a
    ledger row of every status on every channel."""
    now = utcnow()
    week = now - timedelta(days=7)
    ids: dict[str, int] = {}
    with runtime.engine.begin() as connection:

        def person(name: str, **channels) -> int:
            ids[name] = add(connection, Customer, created_at=week, updated_at=week)
            add(connection, CustomerChannels, customer_id=ids[name], updated_at=week, **channels)
            return ids[name]

        for n, (status, followed, blocked) in enumerate(
            [
                ("following", now - timedelta(days=40), None),
                ("following", now - timedelta(days=12), None),
                ("following", now - timedelta(days=3), None),
                ("blocked", now - timedelta(days=20), now - timedelta(days=2)),
                ("unknown", None, None),
            ],
            start=1,
        ):
            add(
                connection,
                LineUser,
                line_user_id=f"U{n}",
                friend_status=status,
                followed_at=followed,
                blocked_at=blocked,
                status_changed_at=blocked or followed,
                created_at=week,
                updated_at=week,
            )
        person("imported_link", line_user_id="U1", line_permitted=True, line_linked=True)
        person("flow_link", line_permitted=True, email_main="f@example.jp", email_permitted=True)
        bind(connection, "U2", ids["flow_link"], now - timedelta(days=5), now)
        person(
            "on_file", line_user_id="U3", line_permitted=False, sms_phone="+819011110001", sms_permitted=True
        )
        person("blocker", line_user_id="U4", line_permitted=True, line_linked=False)
        person("never_followed", line_user_id="U5", line_permitted=True)
        person("sms_only", sms_phone="+819011110002", sms_permitted=True)
        add(
            connection,
            ConsentEvent,
            customer_id=ids["sms_only"],
            channel="sms",
            granted=True,
            occurred_at=now - timedelta(days=9),
            purpose="marketing",
            source="test",
        )
        person("withdrew", email_main="w@example.jp", email_permitted=False)
        for app_user, login in ((True, now - timedelta(days=4)), (True, None), (False, None)):
            customer_id = person(f"app_{app_user}_{login is None}")
            add(
                connection,
                CustomerActivity,
                customer_id=customer_id,
                app_user=app_user,
                app_last_login_at=login,
                updated_at=week,
            )
        broadcast = add(
            connection,
            Broadcast,
            name="b",
            template="t.a",
            purpose="marketing",
            channels="line",
            status="sent",
            created_at=week,
            updated_at=week,
        )
        enrollments = {
            scenario: add(
                connection,
                Enrollment,
                scenario_id=scenario,
                customer_id=ids["flow_link"],
                anchor_key=f"test:{scenario}",
                status="done",
                held_out=False,
                wake_token=0,
                entered_at=week,
                updated_at=week,
            )
            for scenario in ("visit_reminder", "quote_followup")
        }
        step, people = 0, list(ids.values())
        for channel in CHANNELS:
            for status in STATUSES:
                origins = {"visit_reminder": 2, "quote_followup": 1, "broadcast": 1, "chat": 1}
                for origin, copies in origins.items():
                    for _ in range(copies):
                        step += 1
                        sent_at = (
                            now - timedelta(hours=1) if status in ("sent", "delivered", "failed") else None
                        )
                        add(
                            connection,
                            Delivery,
                            enrollment_id=enrollments.get(origin),
                            broadcast_id=broadcast if origin == "broadcast" else None,
                            # a broadcast reaches a customer once per channel: one customer per status here
                            customer_id=people[STATUSES.index(status)]
                            if origin == "broadcast"
                            else ids["flow_link"],
                            step=f"s{step}",
                            template="visit_reminder.a",
                            channel=channel,
                            purpose="marketing",
                            status=status,
                            due_at=now,
                            attempts=1,
                            sent_at=sent_at,
                            segments=2 if channel == "sms" and sent_at else None,
                            cost_yen=20.0 if channel == "sms" and status == "delivered" else None,
                            carrier="docomo" if channel == "sms" and status == "delivered" else None,
                            created_at=now,
                            updated_at=now,
                        )
    return ids


def direct(connection, statement) -> int:
    return connection.execute(statement).scalar_one()


def test_each_figure_equals_a_direct_count_and_the_figures_agree(runtime):
    """Today's reach per KPI, the ledger per channel, status and origin, the customers each channel can reach
    and the SMS cost are each a direct count of the tables; linked customers on LINE are friends; the funnels'
    sent add up to the ledger's scenario share."""
    build_world(runtime)
    users, channels = LineUser.__table__, CustomerChannels.__table__
    rows, activity = Delivery.__table__, CustomerActivity.__table__
    with runtime.engine.connect() as connection:
        _, series = dashboard.reach(connection, utcnow())
        today = {kpi: values[-1] for kpi, values in series.items()}
        count = lambda *where, table=channels: direct(
            connection, select(func.count()).select_from(table).where(*where)
        )
        assert today == {
            "line_friends": count(users.c.friend_status == "following", table=users),
            "line_linked": count(channels.c.line_linked.is_(True)),
            "sms_permitted": count(channels.c.sms_phone.is_not(None), channels.c.sms_permitted.is_(True)),
            "email_permitted": count(
                channels.c.email_main.is_not(None), channels.c.email_permitted.is_(True)
            ),
            "app_users": count(activity.c.app_user.is_(True), table=activity),
        }
        assert today == {
            "line_friends": 3,
            "line_linked": 2,
            "sms_permitted": 2,
            "email_permitted": 1,
            "app_users": 2,
        }
        linked_not_friends = select(func.count()).select_from(
            channels.outerjoin(users, users.c.line_user_id == channels.c.line_user_id)
        )
        linked_not_friends = linked_not_friends.where(
            channels.c.line_linked.is_(True), users.c.friend_status.is_distinct_from("following")
        )
        assert direct(connection, linked_not_friends) == 0

        ledger = dashboard.ledger(connection)
        by_status = Counter(
            {
                (c, s): n
                for c, s, n in connection.execute(
                    select(rows.c.channel, rows.c.status, func.count()).group_by(
                        rows.c.channel, rows.c.status
                    )
                )
            }
        )
        assert {(c, s): n for c, one in ledger.items() for s, n in one.statuses.items()} == dict(by_status)
        assert list(ledger) == list(CHANNELS)
        for channel, one in ledger.items():
            assert (
                one.sent_total
                == count(rows.c.channel == channel, rows.c.sent_at.is_not(None), table=rows)
                == 15
            )
            assert one.sent == {"scenario": 9, "broadcast": 3, "chat": 3}
        funnels = dashboard.funnels(connection)
        assert dashboard.scenario_sent(funnels) == {c: one.sent["scenario"] for c, one in ledger.items()}
        assert funnels["visit_reminder"].sent == dict.fromkeys(CHANNELS, 6)

        # the send rule's LINE reach: U1 and U2 (friends) and U5 (a LINE ID on file, never followed, not blocked);
        # not U3 (no permission) nor U4 (blocked)
        assert reachable_now(connection) == {"line": 3, "email": 1, "sms": 2, "push": 0}
        [billed, estimate, undelivered] = dashboard.sms_months(connection, utcnow())
        assert (billed.kind, billed.carrier, billed.messages, billed.cost_yen) == (
            "billed",
            "docomo",
            5,
            100.0,
        )
        assert (estimate.kind, estimate.messages, estimate.segments, estimate.cost_yen) == (
            "estimate",
            5,
            10,
            100.0,
        )
        assert (undelivered.kind, undelivered.messages, undelivered.cost_yen) == ("undelivered", 5, 0.0)


def test_flask_delivery_status_and_the_page_show_the_ledgers_figures(runtime):
    """`flask delivery status` prints each channel's rows per status and its sent by origin; the dashboard's
    ledger table and the funnel's total row show the same numbers."""
    from app import create_app

    build_world(runtime)
    with runtime.engine.connect() as connection:
        ledger = dashboard.ledger(connection)
    runtime.settings = runtime.settings.model_copy(update={"local_mode": True})
    app = create_app(runtime=runtime)
    shown = app.test_cli_runner().invoke(args=["delivery", "status"]).output.splitlines()
    for channel, one in ledger.items():
        for status, rows in one.statuses.items():
            assert f"{channel:6} {status:10} {rows:>10,}" in shown
        origins = ", ".join(f"{origin} {one.sent[origin]:,}" for origin in ORIGINS)
        assert f"{channel:6} {one.sent_total:>21,}  ({origins})" in shown[shown.index(SENT_HEADING) :]
    html = app.test_client().get("/dashboard").get_data(as_text=True)
    ledger_table = html[html.index('<section id="ledger">') : html.index('<section id="reach">')]
    for channel, one in ledger.items():
        statuses = "".join(f"<td>{one.statuses.get(s, 0)}</td>" for s in STATUSES)
        origins = "".join(f"<td>{one.sent.get(o, 0)}</td>" for o in ORIGINS)
        assert f"{statuses}<td>{one.rows}</td><td>{one.sent_total}</td>{origins}" in ledger_table
    for channel, one in ledger.items():
        assert f'<td data-channel="{channel}">{one.sent["scenario"]}</td>' in html  # the funnel's total row
    assert '<tr data-kpi="line_friends"><td class="name">LINE友だち（友だち追加）</td><td>' in html


def test_stats_in_the_admin_chat_shows_the_funnels_sent(runtime, post_webhook, drain):
    """/stats names, per scenario, the same sent per channel as the dashboard's funnel (one function)."""
    build_world(runtime)
    with runtime.engine.connect() as connection:
        funnels = dashboard.funnels(connection)
    operator = new_user()
    staff_settings(runtime, operators=[operator], approvers=[])
    with emulated_line(runtime) as line:
        chat = StaffChat(runtime, line, post_webhook, drain, operator, ADMIN_GROUP)
        [answer] = chat.say("/stats 5")
        [other] = chat.say("/stats 3")
    sent = funnels["visit_reminder"].sent
    assert (
        f"送信 LINE {sent['line']}・メール {sent['email']}・SMS {sent['sms']}・アプリ通知 {sent['push']}"
        in answer
    )
    assert "送信 LINE 3・メール 3・SMS 3・アプリ通知 3" in other
