"""Staff notices go out the way the ledger's answers do, against the LINE emulator: by reply while the reply token
is fresh (first attempt only), else by push under the notice's own retry key, the same key after a crash, and
never past the key's 23 hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rq import Queue
from sqlalchemy import select, update

from bot.delivery.channels.line import retry_key
from bot.delivery.notices import notice_retry_key, requeue_stale, send_notices
from bot.delivery.windows import RETRY_WINDOW
from bot.jobs.queues import ANSWERS
from devtools.line_emulator import LineEmulator
from models import NoticeStatus, StaffNotice, utcnow
from tests.conftest import ACCESS_TOKEN
from tests.integration.delivery_helpers import line_id

NOTICES = StaffNotice.__table__
PUSH = "/v2/bot/message/push"
REPLY = "/v2/bot/message/reply"


@pytest.fixture
def line():
    with LineEmulator(channel_access_token=ACCESS_TOKEN) as emulator:
        yield emulator


@pytest.fixture
def desk(runtime, line):
    runtime.settings = runtime.settings.model_copy(update={"line_api_base_url": line.base_url})
    return runtime


def add_notice(runtime, target: str, **row) -> int:
    values = {
        "kind": "admin",
        "target": target,
        "template": "chat_desk.staff_handoff",
        "fields": {"customer_ref": "内部ID 1"},
        "status": NoticeStatus.QUEUED,
        "attempts": 0,
        "created_at": utcnow(),
    }
    with runtime.engine.begin() as connection:
        return connection.execute(
            NOTICES.insert().values({**values, **row}).returning(NOTICES.c.id)
        ).scalar_one()


def notices(runtime, *ids: int) -> list:
    with runtime.engine.connect() as connection:
        return connection.execute(select(NOTICES).where(NOTICES.c.id.in_(ids)).order_by(NOTICES.c.id)).all()


def send(runtime, *ids: int) -> dict[str, int]:
    return send_notices(runtime.engine, runtime.settings, list(ids))


def test_retry_keys_are_the_ones_rows_in_flight_were_given():
    """One derivation, two key spaces: a ledger row and a notice keep the keys they had (rows being retried
    across a deploy are answered 409, not delivered twice), and the same id in the two tables never shares one."""
    created = datetime(2026, 4, 1, 9, 30, 15, 123456, tzinfo=UTC)
    assert retry_key(7, created) == "363e77fc-e014-5c13-95d8-8872a31fc3a6"
    assert notice_retry_key(7, created) == "c81c790d-2ac3-58d9-acdd-ce4a9be06019"


def test_a_notice_goes_by_reply_while_its_token_is_fresh_and_by_push_otherwise(desk, line):
    """Fresh token → reply (no retry key); expired or already used → push with the notice's retry key."""
    fresh, stale, used = line_id(), line_id(), line_id()
    soon, gone = utcnow() + timedelta(seconds=50), utcnow() - timedelta(seconds=1)
    a = add_notice(desk, fresh, reply_token=line.issue_reply_token(fresh), reply_by=soon)
    b = add_notice(desk, stale, reply_token=line.issue_reply_token(stale), reply_by=gone)
    spent = line.issue_reply_token(used)
    line.state.use_reply_token(spent)
    c = add_notice(desk, used, reply_token=spent, reply_by=soon)
    assert send(desk, a, b, c) == {"sent": 3}
    replies = [r for r in line.requests_to(REPLY) if r.status == 200]
    assert [r.body["replyToken"] for r in replies] == [notices(desk, a)[0].reply_token]
    assert "x-line-retry-key" not in replies[0].headers
    pushed = {r.body["to"]: r.headers.get("x-line-retry-key") for r in line.requests_to(PUSH)}
    assert pushed == {row.target: notice_retry_key(row.id, row.created_at) for row in notices(desk, b, c)}
    assert all(len(line.sent_messages(to=target)) == 1 for target in (fresh, stale, used))


def test_a_reply_line_may_have_taken_is_retried_by_push_under_the_retry_key(desk, line):
    """LINE answers a notice's reply with a 5xx: the job does not push at once but leaves it for its retry, which
    goes by push (a second attempt never replies, even with the token still fresh), under the notice's key."""
    staff = line_id()
    notice = add_notice(
        desk, staff, reply_token=line.issue_reply_token(staff), reply_by=utcnow() + timedelta(seconds=50)
    )
    line.inject(REPLY, "server_error")
    assert send(desk, notice) == {"retry": 1}
    assert line.requests_to(PUSH) == [] and notices(desk, notice)[0].status == NoticeStatus.QUEUED
    assert send(desk, notice) == {"sent": 1}
    [push] = line.requests_to(PUSH)
    [row] = notices(desk, notice)
    assert len(line.requests_to(REPLY)) == 1 and row.status == NoticeStatus.SENT and row.attempts == 2
    assert push.headers["x-line-retry-key"] == notice_retry_key(row.id, row.created_at)


def test_a_notice_sent_again_after_a_crash_keeps_its_retry_key(desk, line):
    """A push sent but not recorded (the worker died) is sent again under the same key: LINE answers 409, staff
    get it once, and the notice is recorded as sent."""
    staff = line_id()
    notice = add_notice(desk, staff)
    assert send(desk, notice) == {"sent": 1}
    with desk.engine.begin() as connection:
        connection.execute(update(NOTICES).values(status=NoticeStatus.QUEUED, sent_at=None))
    assert send(desk, notice) == {"sent": 1}
    [row] = notices(desk, notice)
    pushes = line.requests_to(PUSH)
    assert [p.status for p in pushes] == [200, 409] and len(line.sent_messages(to=staff)) == 1
    assert {p.headers["x-line-retry-key"] for p in pushes} == {notice_retry_key(row.id, row.created_at)}
    assert row.status == NoticeStatus.SENT and row.attempts == 2


def test_a_notice_older_than_the_retry_window_is_not_sent_under_its_old_key(desk, line):
    """Past 23 hours LINE may have forgotten the key: the notice fails as too late (nothing pushed) and the tick
    does not queue it again; one just inside the window is still sent."""
    now = utcnow()
    late, staff = line_id(), line_id()
    expired = add_notice(desk, late, created_at=now - RETRY_WINDOW - timedelta(minutes=1))
    inside = add_notice(desk, staff, created_at=now - RETRY_WINDOW + timedelta(minutes=1))
    assert requeue_stale(desk.engine, desk.redis, now) == 1  # `inside` only
    assert Queue(ANSWERS, connection=desk.redis).count == 1
    assert send(desk, expired, inside) == {"failed": 1, "sent": 1}
    [gone, sent] = notices(desk, expired, inside)
    assert (gone.status, gone.error) == (NoticeStatus.FAILED, "retry window passed")
    assert sent.status == NoticeStatus.SENT
    assert [r.body["to"] for r in line.requests_to(PUSH)] == [staff]
