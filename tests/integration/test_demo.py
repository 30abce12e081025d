"""`make demo`'s core on the test runtime: sample files imported, simulated days through the real tick and send
jobs, the LINE emulator, the local SMS outbox and mail folder; the timeline shows a fallback and a conversion."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bot.imports.files import find_spec
from bot.imports.runner import import_file
from devtools import sample_data
from devtools.demo import LINE_IDS, load_files, render, run_demo
from devtools.line_emulator import LineEmulator
from flows.engine import TOKYO, japan_day
from models import Customer, CustomerChannels, DocumentRequest, Quote, Reservation
from tests.conftest import ACCESS_TOKEN

NOW = datetime(2026, 6, 14, 12, 0, tzinfo=TOKYO)  # the demo replays 10–14 June


@pytest.fixture
def line(runtime):
    with LineEmulator(channel_access_token=ACCESS_TOKEN) as emulator:
        runtime.settings = runtime.settings.model_copy(update={"line_api_base_url": emulator.base_url})
        yield emulator


def test_the_demo_shows_scenarios_across_channels_a_fallback_and_a_conversion(runtime, line, tmp_path):
    """A blocked friend's next message goes by SMS, a contract signed mid-flow ends #3 as converted, and the
    LINE, SMS and email messages really went out."""
    demo = run_demo(runtime, NOW, tmp_path / "demo", days=4, population=40)
    kinds = {(entry.who, entry.kind) for entry in demo.entries}
    assert {("DEMO0001", "converted"), ("DEMO0002", "fallback"), ("DEMO0002", "story")} <= kinds
    fallback = next(e for e in demo.entries if e.who == "DEMO0002" and e.kind == "fallback")
    assert "A' sent by SMS (passed over: LINE, blocked)" in fallback.texts["en"]
    converted = next(e for e in demo.entries if e.kind == "converted")
    assert converted.at.astimezone(TOKYO) == datetime(2026, 6, 11, 19, 0, tzinfo=TOKYO)
    text = "\n".join(render(demo, data_dir=tmp_path))
    assert "フォールバック" in text and "コンバージョン" in text and "← conversion" in text
    assert {1, 3, 5, 14} <= {
        row["scenario"].number for row in demo.summary if row["line"] + row["sms"] + row["email"]
    }
    assert line.sent_messages(to=LINE_IDS["DEMO0001"]) and line.sent_messages(to=LINE_IDS["DEMO0004"])
    sms = [json.loads(row) for row in (tmp_path / "sms-outbox.jsonl").read_text().splitlines()]
    assert "+819090000002" in {message["to"] for message in sms}
    assert any((tmp_path / "mail" / "new").iterdir())


def test_a_second_run_reads_the_timeline_back_and_sends_nothing_more(runtime, line, tmp_path):
    """Run twice on one database: the second run replays what the first recorded, and sends nothing again."""
    first = run_demo(runtime, NOW, tmp_path / "demo", days=4, population=20)
    sent = len(line.sent_messages())
    again = run_demo(runtime, NOW, tmp_path / "demo", days=4, population=20)
    assert again.replayed and len(line.sent_messages()) == sent
    assert [e.texts for e in again.entries] == [e.texts for e in first.entries if e.kind != "story"]


def demo_customers(runtime) -> dict[int, tuple]:
    """{customer id: 顧客ID, name, contacts and the codes of their requests, quotes and reservations}."""
    people, channels = Customer.__table__, CustomerChannels.__table__
    with runtime.engine.connect() as connection:
        rows = connection.execute(
            select(people.c.id, people.c.customer_code, people.c.family_name, people.c.given_name)
            .add_columns(channels.c.email_main, channels.c.sms_phone, channels.c.line_user_id)
            .outerjoin(channels, channels.c.customer_id == people.c.id)
        ).all()
        made = {
            table.__tablename__: connection.execute(select(table.customer_id, code)).all()
            for table, code in ((DocumentRequest, DocumentRequest.request_code), (Quote, Quote.quote_code),
                                (Reservation, Reservation.reservation_code))
        }  # fmt: skip
    return {
        row.id: (*row[1:], *(sorted(c for owner, c in pairs if owner == row.id) for pairs in made.values()))
        for row in rows
    }


def test_sample_files_imported_after_the_demo_change_none_of_its_customers(runtime, tmp_path):
    """Sample files from the command line, imported after the demo's, add customers and change none of the
    demo's: not their names, addresses, phones or LINE IDs, nor whose requests, quotes and reservations are whose."""
    today = japan_day(NOW)
    load_files(runtime, tmp_path / "demo", today - timedelta(days=4), today, population=40)
    before = demo_customers(runtime)
    for kind in ("F5", "F1", "F2", "F3", "F7"):
        path = tmp_path / f"sample_{kind}.csv"
        sample_data.main([kind, "--rows", "60", "--out", str(path), "--today", today.isoformat()])
        assert import_file(runtime.engine, find_spec(kind), path).committed, kind
    after = demo_customers(runtime)
    assert {customer: after[customer] for customer in before} == before
    assert len(after) > len(before) + 60


def test_the_demo_writes_a_dated_past_whose_figures_agree(runtime, line, tmp_path):
    """Before the simulated days the demo dates its customers' LINE follows, links, consents and app use over the
    weeks before, so the dashboard's reach chart rises over the month instead of jumping on the demo's day; every
    linked customer on LINE is a friend, no LINE message went to someone who is not a LINE user, and the SMS
    sent are billed by the receipt's carrier or shown as an estimate."""
    from bot.staff import dashboard
    from models import Delivery, LineUser

    demo = run_demo(runtime, NOW, tmp_path / "demo", days=4, population=40)
    assert demo.history.followed and demo.history.linked and demo.history.consents
    with runtime.engine.connect() as connection:
        _, series = dashboard.reach(connection, NOW)
        users, channels, rows = LineUser.__table__, CustomerChannels.__table__, Delivery.__table__
        on_line = channels.outerjoin(users, users.c.line_user_id == channels.c.line_user_id)
        linked = connection.execute(
            select(users.c.friend_status).select_from(on_line).where(channels.c.line_linked.is_(True))
        ).scalars()
        assert set(linked) == {"following"}
        sent_on_line = connection.execute(
            select(users.c.id)
            .select_from(
                rows.join(channels, channels.c.customer_id == rows.c.customer_id).outerjoin(
                    users, users.c.line_user_id == channels.c.line_user_id
                )
            )
            .where(rows.c.channel == "line", rows.c.sent_at.is_not(None))
        ).scalars()
        assert None not in set(sent_on_line)
        months = dashboard.sms_months(connection, NOW)
    for kpi in ("line_friends", "sms_permitted", "email_permitted"):
        values = series[kpi]
        rises = [later - earlier for earlier, later in itertools.pairwise(values)]
        assert sum(1 for rise in rises if rise > 0) >= 3, (kpi, values)  # rising on many days
        assert max(rises) < values[-1] - values[0], (kpi, values)  # not one jump
    assert series["line_linked"][0] < series["line_linked"][-1]
    assert series["line_friends"][-1] >= series["line_linked"][-1]
    assert {m.kind for m in months} >= {"billed"} and all(
        m.cost_yen for m in months if m.kind != "undelivered"
    )
