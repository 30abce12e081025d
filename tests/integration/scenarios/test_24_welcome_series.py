"""#24 友だち追加後のステップ配信 (welcome series) through the webhook, the worker's tick and the LINE emulator: a
follow enrols the new friend and message A (how to use the account) reaches LINE after the delay; a second follow
the same day enrols nobody twice; linking before the invitation ends the series as converted (the series follows
the LINE address to the linked customer); without a link, B (the ID連携 invitation) arrives; the settings file's
off switch stops enrolment."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.chat.account_link import new_nonce
from bot.platform.config import Settings
from models import Delivery, TraceEntry, utcnow
from tests import factories
from tests.integration.chat_helpers import Chat, action_of, emulated_line
from tests.integration.test_account_link import account_link
from tests.integration.test_account_link import customer as policyholder
from tests.integration.test_event_journeys import WELCOME, enrollments, tick_at


def test_a_new_friend_enters_the_welcome_series_and_message_a_reaches_line(runtime, post_webhook, drain):
    """A follow by a LINE user nobody knows: the greeting at once, a prospect enrolled in #24, and an hour later
    (the default delay) message A on LINE with the menu's buttons; nothing by any other channel."""
    with emulated_line(runtime) as line:
        friend = Chat(runtime, line, post_webhook, drain)
        [greeting] = friend.follow()
        assert "友だち追加ありがとうございます" in greeting["text"]
        [enrollment] = enrollments(runtime)
        assert (enrollment.scenario_id, enrollment.customer_id) == ("welcome_series", friend.customer_id())
        assert enrollment.entered_at - enrollment.updated_at >= timedelta(
            minutes=59
        )  # the delay from settings
        tick_at(enrollment.wake_at - timedelta(minutes=1), drain)
        assert friend.answers() == []  # not before its time
        tick_at(enrollment.wake_at, drain)
        [welcome] = friend.answers()
    assert "公式LINEアカウントの使い方" in welcome["text"] and "「メニュー」" in welcome["text"]
    labels = [item["action"]["label"] for item in welcome["quickReply"]["items"]]
    assert labels[:3] == ["メニュー", "各種お手続き", "よくある質問"]
    with runtime.engine.connect() as connection:
        sent = connection.execute(select(Delivery.template, Delivery.channel, Delivery.status)).all()
    assert [tuple(row) for row in sent if row.template.startswith("welcome_series")] == [
        ("welcome_series.a", "line", "sent")
    ]


def test_a_second_follow_the_same_day_does_not_enrol_twice(runtime, post_webhook, drain):
    """A block and an unblock the same day (each a follow event of its own) leave one welcome series."""
    with emulated_line(runtime) as line:
        friend = Chat(runtime, line, post_webhook, drain)
        friend.follow()
        friend._send(factories.unfollow(friend.user_id))
        friend.follow(unblocked=True)
        friend.follow()
    assert [row.scenario_id for row in enrollments(runtime)] == ["welcome_series"]


def test_linking_before_the_invitation_ends_the_series_as_converted(runtime, post_webhook, drain):
    """A prospect gets A, then links LINE to their insurance record: the series follows the LINE address to the
    customer and, when B falls due, ends as converted with no B sent."""
    insured = policyholder(runtime)
    with emulated_line(runtime) as line:
        friend = Chat(runtime, line, post_webhook, drain)
        friend.follow()
        prospect = friend.customer_id()
        [series] = enrollments(runtime)
        tick_at(series.wake_at, drain)
        [welcome] = friend.answers()
        assert "使い方" in welcome["text"]
        with runtime.engine.begin() as connection:
            nonce = new_nonce(connection, insured, friend.user_id, utcnow())
        assert "連携が完了しました" in account_link(friend, nonce)[0]["text"]
        friend.answers()
        invitation_due = series.wake_at + timedelta(days=WELCOME.params["invite_days"])
        tick_at(invitation_due, drain)
        assert friend.answers() == []
    [series] = [row for row in enrollments(runtime) if row.scenario_id == "welcome_series"]
    assert (series.customer_id, series.status, series.outcome) == (insured, "done", "converted")
    assert prospect != insured
    with runtime.engine.connect() as connection:
        templates = connection.execute(select(Delivery.template)).scalars().all()
        codes = connection.execute(select(TraceEntry.code).where(TraceEntry.enrollment_id == series.id)).all()
    assert "welcome_series.a" in templates and "welcome_series.b" not in templates
    assert ("goal_reached",) in codes


def test_the_invitation_goes_to_a_friend_who_has_not_linked(runtime, post_webhook, drain):
    """Without a link, B (the ID連携 invitation with the chat's link button) arrives invite_days after A."""
    with emulated_line(runtime) as line:
        friend = Chat(runtime, line, post_webhook, drain)
        friend.follow()
        [series] = enrollments(runtime)
        tick_at(series.wake_at, drain)
        friend.answers()
        tick_at(series.wake_at + timedelta(days=WELCOME.params["invite_days"]), drain)
        [invitation] = friend.answers()
        link = friend.tap(action_of(invitation, "link_account"))
    assert "ID連携" in invitation["text"]
    assert "LINE連携する" in [item["action"]["label"] for item in invitation["quickReply"]["items"]]
    assert any(item["action"]["type"] == "uri" for item in link[0]["quickReply"]["items"])  # the login page
    [series] = enrollments(runtime)
    assert (series.status, series.outcome) == ("done", "finished")


def test_the_settings_off_switch_stops_enrolment(runtime, post_webhook, drain, tmp_path):
    """`enabled: false` for welcome_series in SCENARIO_SETTINGS_FILE: a new friend is greeted, never enrolled,
    and `scenarios list` would show it switched off."""
    path = tmp_path / "scenarios.yml"
    path.write_text("welcome_series:\n  enabled: false\n", encoding="utf-8")
    with emulated_line(runtime) as line:
        runtime.settings = Settings(**(runtime.settings.model_dump() | {"scenario_settings_file": path}))
        assert runtime.settings.scenarios["welcome_series"].enabled is False
        friend = Chat(runtime, line, post_webhook, drain)
        assert friend.follow()  # the greeting still comes
    assert enrollments(runtime) == []
