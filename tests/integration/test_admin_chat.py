"""The admin chat's frame: who may command from where, /help from the registry, usage lines for bad arguments,
scenario commands, and an audit row for every attempt (the audit is append-only)."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text, update

from bot.staff.admin import pseudonym
from models import AdminAudit, ScenarioControl
from tests.integration.admin_helpers import (
    ADMIN_GROUP,
    OTHER_GROUP,
    StaffChat,
    audit_rows,
    new_user,
    staff_settings,
)
from tests.integration.chat_helpers import emulated_line


def test_only_staff_in_admin_places_command_and_every_attempt_is_audited(runtime, post_webhook, drain):
    """An operator in the admin group gets /help; the same command in another group, or from a stranger, runs
    nothing (silence in a group, the ordinary bot in 1:1) and is audited as refused."""
    operator, stranger = new_user(), new_user()
    with emulated_line(runtime) as line:
        staff_settings(runtime, operators=[operator], approvers=[])
        in_group = StaffChat(runtime, line, post_webhook, drain, operator, ADMIN_GROUP)
        [listing] = in_group.say("/help")
        assert "/scenarios（シナリオ一覧）" in listing and "/pause（停止）" in listing
        assert StaffChat(runtime, line, post_webhook, drain, operator, OTHER_GROUP).say("/help") == []
        [ordinary] = StaffChat(runtime, line, post_webhook, drain, stranger, None).say("/pause 5")
        assert "理解できませんでした" in ordinary and "/" not in ordinary
        member = StaffChat(runtime, line, post_webhook, drain, stranger, ADMIN_GROUP)
        assert "シナリオ一覧" in member.say("/シナリオ一覧")[0]  # any member of an admin group is an operator
    assert audit_rows(runtime) == [
        (operator, ADMIN_GROUP, "help", "done"),
        (operator, OTHER_GROUP, "help", "refused"),
        (pseudonym(runtime.settings, stranger), "1:1", "pause", "refused"),  # often a customer: hashed
        (stranger, ADMIN_GROUP, "scenarios", "done"),
    ]
    with runtime.engine.connect() as connection:
        assert connection.execute(select(ScenarioControl)).all() == []


def test_bad_arguments_get_the_usage_line_and_pause_resume_work(runtime, post_webhook, drain):
    """/pause without a number or with an unknown one answers the usage; /pause 5 then /resume 5 switch #5, and
    /scenario 5 shows its state; an unknown command is named."""
    operator = new_user()
    with emulated_line(runtime) as line:
        staff_settings(runtime, operators=[operator], approvers=[])
        chat = StaffChat(runtime, line, post_webhook, drain, operator, ADMIN_GROUP)
        assert chat.say("/pause") == ["使い方: /pause 番号（例: /pause 5）"]
        assert chat.say("/pause 99") == ["使い方: /pause 番号（例: /pause 5）"]
        assert chat.say('/pause "5') == ["使い方: /pause 番号（例: /pause 5）"]
        assert "停止しました" in chat.say("／停止　５")[0]  # full-width slash, space and digit
        assert "状態: 停止中" in chat.say("/scenario 5")[0]
        assert "再開しました" in chat.say("/resume visit_reminder")[0]
        assert chat.say("/launch") == ["「/launch」というコマンドはありません。/help で一覧を表示します。"]
    with runtime.engine.connect() as connection:
        control = connection.execute(select(ScenarioControl)).one()
    assert (
        control.scenario_id == "visit_reminder" and control.paused is False and control.changed_by == operator
    )
    assert [row[2:] for row in audit_rows(runtime)] == [
        ("pause", "usage"),
        ("pause", "usage"),
        ("pause", "usage"),
        ("pause", "done"),
        ("scenario", "done"),
        ("resume", "done"),
        ("launch", "unknown"),
    ]


def test_the_audit_log_cannot_be_changed_on_postgresql(runtime, database_url):
    """An UPDATE or DELETE of an audit row is refused by the database itself."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the append-only trigger is PostgreSQL's")
    from sqlalchemy.exc import DBAPIError

    from bot.staff.admin import audit
    from models import utcnow

    with runtime.engine.begin() as connection:
        audit(connection, new_user(), ADMIN_GROUP, "help", "", "done", utcnow())
    for statement in (update(AdminAudit).values(result="forged"), text("DELETE FROM admin_audit")):
        with pytest.raises(DBAPIError, match="append-only"), runtime.engine.begin() as connection:
            connection.execute(statement)


def test_a_strangers_attempt_keeps_neither_who_they_are_nor_what_they_typed(runtime, post_webhook, drain):
    """A stranger's /customer with a phone number and an email runs nothing; the audit keeps their LINE user id
    as a keyed hash, not what they typed, and the name of a command only when it is one of ours."""
    stranger = new_user()
    with emulated_line(runtime) as line:
        staff_settings(runtime, operators=[], approvers=[])
        chat = StaffChat(runtime, line, post_webhook, drain, stranger, OTHER_GROUP)
        chat.say("/customer 090-1234-5678 taro@example.jp")
        chat.say("/山田花子です 住所を変えたい")
    with runtime.engine.connect() as connection:
        rows = connection.execute(select(AdminAudit.actor, AdminAudit.command, AdminAudit.arguments)).all()
    hashed = pseudonym(runtime.settings, stranger)
    assert rows == [(hashed, "customer", None), (hashed, "-", None)]
    assert hashed.startswith("#") and stranger not in hashed and len(hashed) == 17
