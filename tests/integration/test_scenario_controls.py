"""Staff pause and resume a scenario, and read the catalogue: `flask scenarios pause|resume|list|show|settings`."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from bot.delivery.outbox import _claim
from bot.scenarios.runner import tick
from flows.engine import TOKYO
from models import Delivery, Enrollment
from tests.integration.scenario_helpers import load, person, timeline, write

RENEWAL = "2026/07/31"
A_DUE = datetime(2026, 7, 1, 19, 0, tzinfo=TOKYO)  # renewal−30d, #14's trigger


def statuses(runtime) -> list[str]:
    with runtime.engine.connect() as connection:
        return list(connection.execute(select(Delivery.status).order_by(Delivery.id)).scalars())


def test_a_paused_scenario_sends_nothing_and_resumes_where_it_stopped(app, runtime, tmp_path):
    """Pausing parks the queued A (the dispatcher does not take it), enrols nobody new and holds A'; resuming
    puts A back in the queue and A' follows at the next tick."""
    rows = [
        person("early", email="e@example.com", email_ok="真", renewal=RENEWAL),
        person("during", email="d@example.com", email_ok="真", renewal="2026/08/02"),
    ]
    load(runtime, "F5", write(tmp_path / "f5.csv", rows))
    scenarios = {"renewal_reminder": runtime.settings.scenarios["renewal_reminder"]}
    assert tick(runtime.engine, scenarios, A_DUE).queued == 1
    cli = app.test_cli_runner()
    paused = cli.invoke(args=["scenarios", "pause", "14", "--by", "staff-7"])
    assert paused.exit_code == 0 and "1 queued messages parked" in paused.output, paused.output
    assert statuses(runtime) == ["paused"]
    assert _claim(runtime.engine, A_DUE + timedelta(minutes=5), A_DUE + timedelta(minutes=10), set()) == []
    listed = cli.invoke(args=["scenarios", "list"]).output.splitlines()
    assert " 一時停止中 " in next(line for line in listed if line.startswith("#14 "))
    shown = cli.invoke(args=["scenarios", "show", "14"]).output.splitlines()
    assert "  状態: 一時停止中（新しい登録も送信も止めています。再開は flask scenarios resume 14）" in shown
    for day in range(1, 5):  # "during" would enter on 07-03; "early" would get A' on 07-04
        report = tick(runtime.engine, scenarios, A_DUE + timedelta(days=day))
        assert report.paused == ["renewal_reminder"] and "renewal_reminder" not in report.entered
        assert report.advanced == 0 and report.queued == 0
    with runtime.engine.connect() as connection:
        assert len(connection.execute(select(Enrollment.id)).all()) == 1  # "during" never entered
    resumed = cli.invoke(args=["scenarios", "resume", "renewal_reminder"])
    assert "1 queued messages put back in the queue" in resumed.output
    assert statuses(runtime) == ["queued"]
    tick(runtime.engine, scenarios, A_DUE + timedelta(days=4, hours=1))
    assert [(who, step) for who, _, _, step, _ in timeline(runtime)] == [
        ("early", "send_a"),
        ("early", "send_a2"),
    ]


def test_list_show_and_settings(app, tmp_path):
    """list shows every scenario's state and trigger under a heading; show prints the graph and writes a Mermaid
    diagram with every step; settings prints the timings as YAML; an unknown scenario is a usage error."""
    cli = app.test_cli_runner()
    listed = cli.invoke(args=["scenarios", "list"]).output.splitlines()
    assert len(listed) == 1 + len(app.extensions["runtime"].settings.scenarios)
    assert any(
        line.startswith("#5 ") and " 配信中 " in line and "来店予定日の7日前 10:00" in line for line in listed
    )
    diagram = tmp_path / "five.mmd"
    shown = cli.invoke(args=["scenarios", "show", "5", "--mermaid", str(diagram)])
    assert shown.exit_code == 0, shown.output
    assert "設定値: 来店予定日の何日前に開始 7日、開始時刻 10:00、次の送信までの日数 3日" in shown.output
    assert f"フロー図: {diagram}" in shown.output
    text = diagram.read_text("utf-8")
    assert text.startswith("flowchart TD")
    for step_id in ("send_a", "opened_a", "send_b", "send_c", "send_e_after_c", "cancelled"):
        assert f"  {step_id}" in text
    assert "opened_a -- はい --> cancelled_before_b" in text
    printed = cli.invoke(args=["scenarios", "settings"]).output
    assert "visit_reminder:\n  enabled: true\n  timings:\n    days_before_visit: 7" in printed
    unknown = cli.invoke(args=["scenarios", "pause", "99"])
    assert unknown.exit_code == 2 and "no scenario '99'" in unknown.output
