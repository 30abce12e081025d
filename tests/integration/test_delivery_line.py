"""The LINE side of delivery, against the LINE emulator: due ledger rows pushed in batches with their retry keys,
every answer LINE can give (409, 429 both kinds, 5xx, time-out, other 4xx), consent checked again at send time,
quiet hours, the 23-hour retry window, and broadcasts by multicast in groups of 500."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from bot.delivery.channels.line import LinePusher, retry_key
from bot.delivery.consent import Evidence, opt_out
from bot.delivery.outbox import dispatch_due, resume_channel, stopped_channels
from bot.delivery.sending import send_batch
from bot.jobs.queues import HANDOFF_GRACE, SENDS
from devtools.line_emulator import LineEmulator
from flows.dsl import Channel
from models import Customer, DeliveryStatus, FriendStatus, utcnow
from tests.conftest import ACCESS_TOKEN
from tests.integration.delivery_helpers import (
    add_customer,
    add_row,
    ledger,
    line_id,
    new_broadcast,
    queue,
    send_due,
)

PUSH = "/v2/bot/message/push"
MULTICAST = "/v2/bot/message/multicast"


@pytest.fixture
def line():
    with LineEmulator(channel_access_token=ACCESS_TOKEN) as emulator:
        yield emulator


@pytest.fixture
def sending(runtime, line):
    runtime.settings = runtime.settings.model_copy(
        update={"line_api_base_url": line.base_url, "quiet_hours": "", "line_read_timeout": 1.5}
    )
    return runtime


def test_due_rows_are_pushed_once_with_their_retry_keys(sending, line, drain):
    """Queued rows go out as pushes carrying each row's retry key; the ledger records LINE's request id."""
    users = [line_id() for _ in range(3)]
    ids = [add_row(sending, add_customer(sending, line=user)) for user in users]
    add_row(sending, add_customer(sending, line=line_id()), due_at=utcnow() + timedelta(hours=1))  # not due
    assert send_due(sending, drain) == 3
    rows = ledger(sending, *ids)
    assert [row.status for row in rows] == [DeliveryStatus.SENT] * 3
    keys = {r.headers.get("x-line-retry-key") for r in line.requests_to(PUSH)}
    assert keys == {retry_key(row.id, row.created_at) for row in rows}
    assert {row.provider_id for row in rows} == {r.request_id for r in line.requests_to(PUSH)}
    assert all(len(line.sent_messages(to=user)) == 1 for user in users)
    assert "山田" not in line.sent_messages(to=users[0])[0].message["text"]  # a shared notice: no name
    assert send_due(sending, drain) == 0  # nothing due is left


def test_a_push_whose_worker_died_before_recording_is_a_409_not_a_second_message(sending, line, drain):
    """The dead worker's push reached LINE; its lost job's row is handed out again by the next dispatch after
    the hand-off grace (not an hour later) and recorded sent."""
    user = line_id()
    row_id = add_row(sending, add_customer(sending, line=user))
    dispatch_due(sending.engine, sending.redis, sending.settings, utcnow())  # claimed, job queued …
    from rq import Queue

    Queue(SENDS, connection=sending.redis).empty()  # … and lost with its worker
    row = ledger(sending, row_id)[0]
    with LinePusher(line.base_url, ACCESS_TOKEN) as pusher:  # what the dead worker had sent
        pusher.push(user, [{"type": "text", "text": "x"}], retry_key(row.id, row.created_at))
    assert send_due(sending, drain) == 0  # just handed out: its job may not be queued yet
    assert send_due(sending, drain, utcnow() + HANDOFF_GRACE + timedelta(seconds=1)) == 1
    assert ledger(sending, row_id)[0].status == DeliveryStatus.SENT
    assert len(line.sent_messages(to=user)) == 1
    assert [r.status for r in line.requests_to(PUSH)] == [200, 409]


@pytest.mark.parametrize(
    ("fault", "options"),
    [("rate_limit", {}), ("server_error", {}), ("timeout", {"delay": 2.0, "accepted": True})],
)
def test_429_5xx_and_time_outs_are_retried_with_backoff(sending, line, drain, fault, options):
    """The row waits for its back-off (30 s first), then goes; one message in the chat in every case."""
    user = line_id()
    row_id = add_row(sending, add_customer(sending, line=user))
    line.inject(PUSH, fault, **options)
    before = utcnow()
    send_due(sending, drain)
    row = ledger(sending, row_id)[0]
    assert row.status == DeliveryStatus.QUEUED and row.attempts == 1 and row.error
    assert before + timedelta(seconds=29) < row.due_at < utcnow() + timedelta(seconds=31)
    assert send_due(sending, drain) == 0  # not due yet
    send_due(sending, drain, row.due_at + timedelta(seconds=1))
    row = ledger(sending, row_id)[0]
    assert row.status == DeliveryStatus.SENT and row.attempts == 2
    assert len(line.sent_messages(to=user)) == 1


def test_the_monthly_quota_stops_the_channel_until_resumed(sending, line, drain, caplog):
    """429 'monthly limit': LINE is held, nothing more is tried or counted, and an operator is alerted."""
    line.set_monthly_quota(1)
    ids = [add_row(sending, add_customer(sending, line=line_id())) for _ in range(3)]
    send_due(sending, drain)
    rows = ledger(sending, *ids)
    assert [row.status for row in rows].count(DeliveryStatus.SENT) == 1
    waiting = [row for row in rows if row.status == DeliveryStatus.QUEUED]
    assert len(waiting) == 2 and all(row.attempts == 0 and row.claimed_until is None for row in waiting)
    assert stopped_channels(sending.redis) == {"line"} and "ALERT" in caplog.text
    assert send_due(sending, drain) == 0  # a stopped channel is not dispatched
    line.set_monthly_quota(None)
    assert resume_channel(sending.redis, "line")
    assert send_due(sending, drain) == 2
    assert {row.status for row in ledger(sending, *ids)} == {DeliveryStatus.SENT}


def test_other_4xx_fail_with_lines_reason_and_no_personal_data(sending, line, drain):
    """A user id LINE refuses: failed for good, the reason is LINE's, without the id."""
    bad = "U" + "z" * 32
    row_id = add_row(sending, add_customer(sending, line=bad))
    send_due(sending, drain)
    row = ledger(sending, row_id)[0]
    assert row.status == DeliveryStatus.FAILED and row.error.startswith("400") and bad not in row.error


def test_no_automatic_retry_23_hours_after_the_first_attempt(sending, line, drain):
    """A row first tried 23 h ago is failed, not pushed: LINE would no longer know its retry key."""
    user = line_id()
    row_id = add_row(
        sending, add_customer(sending, line=user), first_attempt_at=utcnow() - timedelta(hours=23, minutes=1)
    )
    send_due(sending, drain)
    row = ledger(sending, row_id)[0]
    assert row.status == DeliveryStatus.FAILED and "23 h" in row.error
    assert line.sent_messages() == []


def test_a_back_off_past_the_window_gives_up(sending, line, drain):
    """A retry whose back-off would end beyond 23 h after the first attempt fails instead of waiting."""
    row_id = add_row(
        sending,
        add_customer(sending, line=line_id()),
        first_attempt_at=utcnow() - timedelta(hours=22, minutes=59, seconds=45),
    )
    line.inject(PUSH, "server_error")
    send_due(sending, drain)
    row = ledger(sending, row_id)[0]
    assert row.status == DeliveryStatus.FAILED and row.error.startswith("gave up after 23 h")


def test_permission_is_checked_again_when_the_message_goes(sending, line, drain):
    """Opted out or blocked after the row was queued: not sent (marketing); a transactional notice still goes."""
    opted, blocked, notice = line_id(), line_id(), line_id()
    opted_id = add_customer(sending, line=opted)
    a = add_row(sending, opted_id)
    b = add_row(sending, add_customer(sending, line=blocked, friend=FriendStatus.BLOCKED))
    c = add_row(sending, add_customer(sending, line=notice, line_ok=False), purpose="transactional")
    with sending.engine.begin() as connection:
        assert opt_out(connection, opted_id, Channel.LINE, "test", utcnow(), Evidence())
    send_due(sending, drain)
    rows = {row.id: row for row in ledger(sending, a, b, c)}
    assert rows[a].status == DeliveryStatus.FAILED and rows[a].error == "not_sent: no_consent"
    assert rows[b].status == DeliveryStatus.FAILED and rows[b].error == "not_sent: blocked"
    assert rows[c].status == DeliveryStatus.SENT
    assert [m.to for m in line.sent_messages()] == [notice]


def test_marketing_waits_out_quiet_hours_but_notices_do_not(sending, line):
    """At 22:00 in Japan a campaign message is held until 09:00; a reservation notice goes at once."""
    sending.settings = sending.settings.model_copy(update={"quiet_hours": "21:00-09:00"})
    night = datetime(2026, 7, 1, 13, 0, tzinfo=UTC)  # 22:00 JST
    campaign = add_row(sending, add_customer(sending, line=line_id()), due_at=night)
    notice = add_row(sending, add_customer(sending, line=line_id()), due_at=night, purpose="transactional")
    claim = dispatch_due_at(sending, night)
    send_batch(
        sending.engine,
        sending.redis,
        sending.settings,
        Channel.LINE,
        [campaign, notice],
        claim,
        lambda: night,
    )
    rows = {row.id: row for row in ledger(sending, campaign, notice)}
    assert rows[notice].status == DeliveryStatus.SENT
    assert rows[campaign].status == DeliveryStatus.HELD and rows[campaign].attempts == 0
    assert rows[campaign].due_at == datetime(2026, 7, 2, 0, 0, tzinfo=UTC)  # 09:00 JST


def dispatch_due_at(runtime, moment: datetime) -> str:
    """Claim like the dispatcher at `moment`, without queueing jobs; returns the claim."""
    from bot.delivery.outbox import DISPATCH_CLAIM, _claim, claim_token

    until = moment + DISPATCH_CLAIM
    _claim(runtime.engine, moment, until, set())
    return claim_token(until)


def test_a_broadcast_goes_by_multicast_in_groups_of_500_and_down_the_ladder(sending, line, drain):
    """1,203 friends: three multicasts (500, 500, 203) with their own retry keys; others by SMS or email."""
    friends = [line_id() for _ in range(1203)]
    for user in friends:
        add_customer(sending, line=user)
    blocked = add_customer(
        sending, line=line_id(), friend=FriendStatus.BLOCKED, phone="+819012345678", sms_ok=True
    )
    unlinked = add_customer(sending, email="a@example.com", email_ok=True)
    add_customer(sending, email="b@example.com", email_ok=False)  # no consent anywhere: no row
    broadcast = new_broadcast(sending)
    assert queue(sending, broadcast) == 1205
    assert queue(sending, broadcast) == 0  # queued twice: nothing new
    by_customer = {row.customer_id: row for row in ledger(sending)}
    assert by_customer[blocked].channel == "sms" and by_customer[unlinked].channel == "email"
    line_rows = [row for row in ledger(sending) if row.channel == "line"]
    send_due(sending, drain)
    requests = line.requests_to(MULTICAST)
    assert sorted(len(r.body["to"]) for r in requests) == [203, 500, 500]
    assert len({r.headers["x-line-retry-key"] for r in requests}) == 3
    assert sorted(m.to for m in line.sent_messages()) == sorted(friends)
    assert {row.status for row in ledger(sending, *(r.id for r in line_rows))} == {DeliveryStatus.SENT}


def test_a_broadcast_reaches_each_friend_in_their_language(sending, line, drain):
    """Friends who read English get the English text by a multicast of its own (its own retry key); the others,
    and those who never chose, the Japanese one under the group's usual key."""
    japanese, english, unset = [line_id() for _ in range(2)], [line_id() for _ in range(2)], line_id()
    ids = {user: add_customer(sending, line=user) for user in (*japanese, *english, unset)}
    with sending.engine.begin() as connection:
        for user, language in [(u, "ja") for u in japanese] + [(u, "en") for u in english]:
            connection.execute(
                Customer.__table__.update().where(Customer.id == ids[user]).values(language=language)
            )
    queue(sending, new_broadcast(sending, channels="first_reachable:line"))
    send_due(sending, drain)
    requests = line.requests_to(MULTICAST)
    assert sorted(len(r.body["to"]) for r in requests) == [2, 3]
    assert len({r.headers["x-line-retry-key"] for r in requests}) == 2
    texts = {m.to: m.message["text"] for m in line.sent_messages()}
    assert all("新しいキャンペーン" in texts[user] for user in (*japanese, unset))
    assert all("new campaign" in texts[user].lower() for user in english)


def test_a_multicast_whose_response_was_lost_is_not_sent_twice(sending, line, drain):
    """LINE accepted the multicast but the answer timed out: the retry is a 409 and every friend has one."""
    friends = [line_id() for _ in range(3)]
    for user in friends:
        add_customer(sending, line=user)
    queue(sending, new_broadcast(sending, channels="first_reachable:line"))
    line.inject(MULTICAST, "timeout", delay=2.0, accepted=True)
    send_due(sending, drain)
    rows = ledger(sending)
    assert {row.status for row in rows} == {DeliveryStatus.QUEUED}
    send_due(sending, drain, rows[0].due_at + timedelta(seconds=1))
    assert {row.status for row in ledger(sending)} == {DeliveryStatus.SENT}
    assert sorted(m.to for m in line.sent_messages()) == sorted(friends)
    assert [r.status for r in line.requests_to(MULTICAST)][-1] == 409


def test_an_answer_goes_by_reply_while_its_token_is_fresh_and_by_push_otherwise(sending, line, drain):
    """Fresh token → reply (no quota, no retry key); expired or already used → push with the row's retry key."""
    fresh, stale, used = line_id(), line_id(), line_id()
    soon, gone = utcnow() + timedelta(seconds=50), utcnow() - timedelta(seconds=1)
    a = add_row(
        sending, add_customer(sending, line=fresh), reply_token=line.issue_reply_token(fresh), reply_by=soon
    )
    b = add_row(
        sending, add_customer(sending, line=stale), reply_token=line.issue_reply_token(stale), reply_by=gone
    )
    spent = line.issue_reply_token(used)
    line.state.use_reply_token(spent)
    c = add_row(sending, add_customer(sending, line=used), reply_token=spent, reply_by=soon)
    send_due(sending, drain)
    assert {row.status for row in ledger(sending, a, b, c)} == {DeliveryStatus.SENT}
    replies = [r for r in line.requests_to("/v2/bot/message/reply") if r.status == 200]
    assert [r.body["replyToken"] for r in replies] == [ledger(sending, a)[0].reply_token]
    assert "x-line-retry-key" not in replies[0].headers
    assert sorted(r.body["to"] for r in line.requests_to(PUSH)) == sorted([stale, used])
    assert all(len(line.sent_messages(to=user)) == 1 for user in (fresh, stale, used))


def test_operators_see_the_ledger_resume_a_channel_and_dispatch_from_the_cli(sending, line, app):
    """`flask delivery status | resume | dispatch`: counts per channel and status, stopped channels."""
    from bot.delivery.outbox import stop_channel

    add_row(sending, add_customer(sending, line=line_id()))
    stop_channel(sending.redis, "line", "You have reached your monthly limit.")
    cli = app.test_cli_runner()
    shown = cli.invoke(args=["delivery", "status"]).output
    assert "line" in shown and "queued" in shown and "stopped: line" in shown
    assert "0 deliveries" in cli.invoke(args=["delivery", "dispatch"]).output  # a stopped channel waits
    assert cli.invoke(args=["delivery", "resume", "line"]).output.strip() == "line: resumed"
    assert "1 deliveries" in cli.invoke(args=["delivery", "dispatch"]).output
    assert cli.invoke(args=["delivery", "dispatch", "--at", "2026-07-01T10:00"]).exit_code != 0


def test_a_broadcast_cancelled_mid_way_stops_at_the_next_chunk(sending, line):
    """250 personalised pushes in one job; cancelled after the first 100: those stay sent, the rest never go."""
    from bot.delivery.broadcasts import cancel_broadcast

    for _ in range(250):
        add_customer(sending, line=line_id())
    broadcast = new_broadcast(
        sending, template="churn_prevention.a", channels="first_reachable:line", purpose="transactional"
    )
    assert queue(sending, broadcast) == 250
    broadcast_id = broadcast.id
    assert {r.batch_key for r in ledger(sending)} == {None}  # names in the text: pushed one by one
    moment = utcnow()
    claim = dispatch_due_at(sending, moment)
    ticks = iter(range(100))

    def clock():  # the job asks the time once, then once per chunk: cancel before the second chunk
        if next(ticks) == 2:
            with sending.engine.begin() as connection:
                assert cancel_broadcast(connection, broadcast_id, utcnow()) == 150
        return utcnow()

    ids = [r.id for r in ledger(sending)]
    counts = send_batch(sending.engine, sending.redis, sending.settings, Channel.LINE, ids, claim, clock)
    assert counts["sent"] == 100 and len(line.sent_messages()) == 100
    statuses = Counter((r.status, r.error) for r in ledger(sending))
    assert statuses == {(DeliveryStatus.SENT, None): 100, (DeliveryStatus.FAILED, "cancelled"): 150}


def test_a_message_that_cannot_be_written_fails_with_the_reason_and_the_rest_go(sending, line, drain):
    """No text for the template, or a merge field without a value: failed, never sent; the batch goes on."""
    unknown = add_row(sending, add_customer(sending, line=line_id()), template="nothing.here")
    unfilled = add_row(sending, add_customer(sending, line=line_id()), template="renewal_reminder.a")
    fine = add_row(sending, add_customer(sending, line=line_id()))
    send_due(sending, drain)
    rows = {row.id: row for row in ledger(sending, unknown, unfilled, fine)}
    assert rows[unknown].error == "template nothing.here: no text"
    assert rows[unfilled].error == "template renewal_reminder.a: a merge field has no value"
    assert rows[fine].status == DeliveryStatus.SENT and len(line.sent_messages()) == 1
