"""`make demo`'s core on the test runtime: sample files imported, simulated days through the real tick and send
jobs, the LINE emulator, the local SMS outbox and mail folder; the timeline shows a fallback and a conversion."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from devtools.demo import LINE_IDS, render, run_demo
from devtools.line_emulator import LineEmulator
from flows.engine import TOKYO
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
    assert "+819023450002" in {message["to"] for message in sms}
    assert any((tmp_path / "mail" / "new").iterdir())


def test_a_second_run_reads_the_timeline_back_and_sends_nothing_more(runtime, line, tmp_path):
    """Run twice on one database: the second run replays what the first recorded, and sends nothing again."""
    first = run_demo(runtime, NOW, tmp_path / "demo", days=4, population=20)
    sent = len(line.sent_messages())
    again = run_demo(runtime, NOW, tmp_path / "demo", days=4, population=20)
    assert again.replayed and len(line.sent_messages()) == sent
    assert [e.texts for e in again.entries] == [e.texts for e in first.entries if e.kind != "story"]
