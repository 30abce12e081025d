"""`flask engine tick --at`, `flask why` and `flask scenarios`: the operator's view of the engine."""

from __future__ import annotations

from sqlalchemy import insert

from bot.platform.config import Settings
from models import TraceEntry, utcnow
from tests.integration.delivery_helpers import add_customer
from tests.integration.scenario_helpers import load, person, write


def _reservation(tmp_path, email="a@example.com"):
    return write(
        tmp_path / "f3.csv",
        [
            {
                "reservation_id": "R1",
                "email_main": email,
                "email_permitted": "",
                "visit_on": "2026/06/20",
                "cancelled": "偽",
            }
        ],
    )


def test_tick_then_why_in_japanese_and_english(app, runtime, tmp_path):
    """A tick at visit−7d 10:00 enrols and queues A; `why` tells it in Japanese, or English on request."""
    load(runtime, "F5", write(tmp_path / "f5.csv", [person("C1", email="a@example.com", email_ok="真")]))
    load(runtime, "F3", _reservation(tmp_path))
    cli = app.test_cli_runner()
    result = cli.invoke(args=["engine", "tick", "--at", "2026-06-13T10:00:00+09:00"])
    assert result.exit_code == 0, result.output
    assert '"visit_reminder": 1' in result.output and '"queued": 1' in result.output
    ja = cli.invoke(args=["why", "C1", "5"])
    assert ja.exit_code == 0, ja.output
    assert "シナリオに登録しました" in ja.output
    assert "メールで送信予定に登録しました（visit_reminder.a" in ja.output
    assert "2026-06-16 10:00 まで待機します" in ja.output  # Japan time, three days after A
    en = cli.invoke(args=["why", "C1", "visit_reminder", "--lang", "en"])
    assert "queued on email" in en.output and "waiting until 2026-06-16 10:00" in en.output


def test_why_tells_a_held_message_and_why_in_words(app, runtime, tmp_path):
    """A message falling due in quiet hours is held: `why` says until when and why (it raised a KeyError before)."""
    load(runtime, "F5", write(tmp_path / "f5.csv", [person("C1", email="a@example.com", email_ok="真")]))
    load(runtime, "F3", _reservation(tmp_path))
    cli = app.test_cli_runner()
    assert cli.invoke(args=["engine", "tick", "--at", "2026-06-13T22:30:00+09:00"]).exit_code == 0
    ja = cli.invoke(args=["why", "C1", "5"])
    assert ja.exit_code == 0, ja.output
    assert "2026-06-14 09:00 まで保留します" in ja.output and "理由: 配信しない時間帯" in ja.output
    en = cli.invoke(args=["why", "C1", "5", "--lang", "en"])
    assert "held until 2026-06-14 09:00" in en.output and "because of: quiet hours" in en.output


def test_why_explains_who_did_not_enter_in_words(app, runtime, tmp_path):
    """For a customer not in the scenario, each entry condition is shown in words, met or not; a customer with no
    reservation is told so, not shown a failed condition on a record that does not exist."""
    rows = [person(c, email=f"{c}@example.com", email_ok="真") for c in ("C2", "C3")]
    load(runtime, "F5", write(tmp_path / "f5.csv", rows))
    visits = [
        {
            "reservation_id": "R2",
            "email_main": "C2@example.com",
            "email_permitted": "",
            "visit_on": "2026/06/20",
            "cancelled": "真",
        }
    ]
    load(runtime, "F3", write(tmp_path / "f3.csv", visits))
    cli = app.test_cli_runner()
    at = ["--at", "2026-06-13T10:00:00+09:00"]
    cancelled = cli.invoke(args=["why", "C2", "5", *at]).output.splitlines()
    assert cancelled[0] == "visit_reminder には登録されていません。本日の登録条件:"
    assert "  ✗ 来店キャンセル：なし" in cancelled and "  ✓ 来店：なし" in cancelled
    none = cli.invoke(args=["why", "C3", "5", *at]).output.splitlines()
    assert none[1] == "  ✗ 来店予約の記録がありません"
    assert not any("来店キャンセル" in line or "来店：" in line for line in none)
    english = cli.invoke(args=["why", "C3", "5", "--lang", "en", *at]).output.splitlines()
    assert english[:2] == ["not in visit_reminder. Today's entry conditions:", "  ✗ no reservation on record"]
    for output in (cancelled, none, english):
        assert not any(word in line for line in output for word in ("reservation.", "is_false", "is_true"))


def test_why_reads_a_missing_activity_row_as_the_triggers_do(app, runtime):
    """A customer with no activity row has not used the app, for #23's entry condition as for its trigger."""
    customer_id = add_customer(runtime, email="a@example.com", email_ok=True)
    output = app.test_cli_runner().invoke(args=["why", str(customer_id), "23"]).output
    assert "  ✓ スマホアプリ利用：なし" in output.splitlines(), output


def test_why_puts_every_decision_into_words(app, runtime):
    """A message skipped as a same-day duplicate (a KeyError before), an exit's outcome, an engagement signal and
    channels are told in words; a code or a value this release has no words for is named rather than crashing."""
    customer_id = add_customer(runtime)
    base = {"customer_id": customer_id, "scenario_id": "visit_reminder", "at": utcnow()}
    skipped = {"template": "visit_reminder.a", "channel": "email", "reasons": "same_day_duplicate"}
    held = {"template": "visit_reminder.c", "channel": "fax", "until": "2026-06-14T00:00:00+00:00"}
    held |= {"reasons": "quiet_hours, retired_reason"}
    rows = [
        base | {"step": "send_a", "code": "skipped", "details": skipped},
        base | {"step": "if_opened", "code": "engaged", "details": {"message": "send_a", "signal": "opened"}},
        base | {"step": None, "code": "exited", "details": {"outcome": "finished"}},
        base | {"step": None, "code": "retired_code", "details": None},
        base | {"step": "send_c", "code": "held", "details": held},
    ]
    with runtime.engine.begin() as connection:
        connection.execute(insert(TraceEntry.__table__), rows)
    cli = app.test_cli_runner()
    ja = cli.invoke(args=["why", str(customer_id)])
    assert ja.exit_code == 0, ja.output
    assert (
        "メールでの送信を見送りました（visit_reminder.a、理由: 同じメッセージを同じ日に送信済み）"
        in ja.output
    )
    assert "send_a に反応あり（開封）" in ja.output
    assert "シナリオを終了しました（最後まで進んだ）" in ja.output
    assert "記録 retired_code（このバージョンに説明がありません）" in ja.output
    assert (
        "faxで送信予定に登録し、2026-06-14 09:00 まで保留します（visit_reminder.c、理由: 配信しない時間帯、retired_reason）"
        in ja.output
    )
    en = cli.invoke(args=["why", str(customer_id), "--lang", "en"])
    assert "not sent on email (visit_reminder.a; because of: already sent the same day)" in en.output
    assert "left the scenario (reached the end)" in en.output


def test_bad_arguments_get_a_clear_error(app):
    """An unknown customer or scenario, or a time without offset: a usage error, not a stack trace."""
    cli = app.test_cli_runner()
    naive = cli.invoke(args=["engine", "tick", "--at", "2026-06-13T10:00"])
    assert naive.exit_code == 2 and "give the offset" in naive.output
    unknown = cli.invoke(args=["why", "nobody"])
    assert unknown.exit_code == 1 and "顧客「nobody」は見つかりません" in unknown.output
    scenario = cli.invoke(args=["why", "1", "99"])
    assert scenario.exit_code == 2 and "no scenario '99'" in scenario.output


def test_scenarios_list_and_show(app, runtime, tmp_path):
    """list and show read the operator's settings file and count who is in progress: show says which timing an
    operator changed and moves every step with it, in Japanese or English; no Python repr anywhere."""
    load(runtime, "F5", write(tmp_path / "f5.csv", [person("C1", email="a@example.com", email_ok="真")]))
    load(runtime, "F3", _reservation(tmp_path))
    settings_file = tmp_path / "scenarios.yml"
    settings_file.write_text('"5":\n  timings:\n    trigger_at: "09:30"\n', encoding="utf-8")
    runtime.settings = Settings.model_validate(
        {**runtime.settings.model_dump(), "scenario_settings_file": settings_file}
    )
    cli = app.test_cli_runner()
    assert '"queued": 1' in cli.invoke(args=["engine", "tick", "--at", "2026-06-13T09:30:00+09:00"]).output
    listed = cli.invoke(args=["scenarios", "list"]).output.splitlines()
    assert listed[0].split() == ["番号", "シナリオ", "開始のタイミング", "ステップ", "送信", "状態", "進行中"]
    assert next(line for line in listed if line.startswith("#5 ")).split()[1:] == [
        "来店予約後の来店リマインドシナリオ",
        "来店予定日の7日前",
        "09:30",
        "17",
        "6",
        "配信中",
        "1",
    ]
    shown = cli.invoke(args=["scenarios", "show", "5"])
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert "  進行中: 1件" in lines
    assert (
        "  設定値: 来店予定日の何日前に開始 7日、開始時刻 09:30（運用で変更・既定は 10:00）、次の送信までの日数 3日"
        in lines
    )
    assert "      いつ: ステップ1の送信の3日後まで（来店予定日の4日前 09:30）" in lines
    english = cli.invoke(args=["scenarios", "show", "visit_reminder", "--lang", "en"]).output
    assert "  Starts: 7 days before the visit date, 09:30" in english.splitlines()
    assert "      Channels: email only" in english.splitlines()
    for output in (shown.output, english, "\n".join(listed)):
        assert not any(bad in output for bad in ("Channel.", "<", "timedelta(", "None", "{'", "visit_on"))


def test_simulate_prints_the_timeline_and_keeps_nothing(app, runtime, tmp_path):
    """`scenarios simulate 5` over a week: A at −7d and C, E by SMS for a customer who never opens; nothing stored."""
    from sqlalchemy import func, select

    from models import Delivery, Enrollment

    load(
        runtime,
        "F5",
        write(
            tmp_path / "f5.csv",
            [person("C3", email="c@example.com", email_ok="真", sms="090-5555-6666", sms_ok="真")],
        ),
    )
    load(runtime, "F3", _reservation(tmp_path, "c@example.com"))
    result = app.test_cli_runner().invoke(
        args=["scenarios", "simulate", "5", "--from", "2026-06-12", "--to", "2026-06-20", "--every", "60"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "2026-06-13 10:00  C3  send_a  sms  queued",
        "2026-06-16 10:00  C3  send_c  sms  queued",
        "2026-06-19 10:00  C3  send_e_after_c  sms  queued",
        "visit_reminder: 3 messages; entered 1 (finished 1)",
    ]
    with runtime.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(Enrollment)).scalar() == 0
        assert connection.execute(select(func.count()).select_from(Delivery)).scalar() == 0
    bad = app.test_cli_runner().invoke(
        args=["scenarios", "simulate", "5", "--from", "2026-06-20", "--to", "2026-06-12"]
    )
    assert bad.exit_code == 2 and "must not be before" in bad.output


def test_simulate_lists_only_its_own_messages_within_its_days(app, runtime, tmp_path):
    """Over 06-15..06-17, after a real tick queued A on 06-13: that ledger row is not the simulation's and is not
    listed, nor is the real enrollment counted as entered; C, which the simulation queues on 06-16, is."""
    rows = [person("C3", email="c@example.com", email_ok="真", sms="090-5555-6666", sms_ok="真")]
    load(runtime, "F5", write(tmp_path / "f5.csv", rows))
    load(runtime, "F3", _reservation(tmp_path, "c@example.com"))
    cli = app.test_cli_runner()
    assert '"queued": 1' in cli.invoke(args=["engine", "tick", "--at", "2026-06-13T10:00:00+09:00"]).output
    result = cli.invoke(
        args=["scenarios", "simulate", "5", "--from", "2026-06-15", "--to", "2026-06-17", "--every", "60"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "2026-06-16 10:00  C3  send_c  sms  queued",
        "visit_reminder: 1 message; entered 0",
    ]


def test_simulate_counts_a_message_held_past_its_last_day(app, runtime, tmp_path):
    """#5 set to start at 22:30: A falls in the quiet hours and is held until 09:00 the next morning, after the
    one simulated day; it is counted as outside the window, not listed with a date the window does not hold."""
    rows = [person("C4", email="d@example.com", email_ok="真")]
    load(runtime, "F5", write(tmp_path / "f5.csv", rows))
    load(runtime, "F3", _reservation(tmp_path, "d@example.com"))
    settings_file = tmp_path / "scenarios.yml"
    settings_file.write_text('"5":\n  timings:\n    trigger_at: "22:30"\n', encoding="utf-8")
    runtime.settings = Settings.model_validate(
        {**runtime.settings.model_dump(), "scenario_settings_file": settings_file}
    )
    result = app.test_cli_runner().invoke(
        args=["scenarios", "simulate", "5", "--from", "2026-06-13", "--to", "2026-06-13"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "visit_reminder: 0 messages; entered 1 (active 1); not listed: 1 due after 2026-06-13"
    ]


def test_operator_filters_narrow_who_enters(app, runtime, tmp_path):
    """SCENARIO_FILTERS {"5": {"reservation.store_code": "S01"}}: only the reservation at store S01 enters."""
    rows = [person(c, email=f"{c}@example.com", email_ok="真") for c in ("s1", "s2")]
    load(runtime, "F5", write(tmp_path / "f5.csv", rows))
    reservations = [
        {
            "reservation_id": f"R-{c}",
            "email_main": f"{c}@example.com",
            "email_permitted": "",
            "visit_on": "2026/06/20",
            "store_id": store,
        }
        for c, store in (("s1", "S01"), ("s2", "S02"))
    ]
    load(runtime, "F3", write(tmp_path / "f3.csv", reservations))
    runtime.settings = runtime.settings.model_copy(
        update={"scenario_filters": {"visit_reminder": {"reservation.store_code": "S01"}}}
    )
    result = app.test_cli_runner().invoke(args=["engine", "tick", "--at", "2026-06-13T10:00:00+09:00"])
    assert '"visit_reminder": 1' in result.output, result.output
    ja = app.test_cli_runner().invoke(args=["why", "s2", "5", "--at", "2026-06-13T10:00:00+09:00"]).output
    assert "visit_reminder には登録されていません" in ja
