"""`flask scenarios list|show` as an operator reads them: words from the locale files, never Python reprs or
field names, with each step's day, channels, message text and branches, and the operator's changes marked."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from itertools import product

import pytest

from bot.platform.config import DEFAULT_LINK_TARGETS
from bot.platform.i18n import configure_i18n
from bot.scenarios.describe import _width, list_lines, scenario_lines
from flows.catalog import SCENARIOS, build_catalog
from flows.dsl import (
    Channel,
    ChannelPolicy,
    OnEvent,
    Pick,
    Purpose,
    Send,
    Signal,
    Wait,
    only,
)
from flows.engine import TOKYO, Enter, Wake, engaged_fact
from flows.engine import step as engine_step
from flows.paths import resends, step_days

A_TEXT = (
    "      本文: {姓}様、{資料請求日}は資料をご請求いただきありがとうございました。"
    "保険の料金比較や、{姓}様におすすめの保険をご紹介します。"
)
REPRS = ("Channel.", "Pick.", "Op.", "<", "timedelta(", "None", "{'", "%{", "=")


@pytest.fixture(autouse=True)
def locales() -> None:
    configure_i18n()


def show(scenario, locale="ja", paused=False, in_progress=0, filters=None) -> list[str]:
    return scenario_lines(
        scenario,
        locale,
        paused=paused,
        in_progress=in_progress,
        filters=filters or {},
        link_targets=DEFAULT_LINK_TARGETS,
    )


def field_names(scenario) -> set[str]:
    """The internal names an operator must not be shown: facts, settings and enum values."""
    facts = {c.fact for c in (*scenario.segment, *scenario.exit_when)} | set(scenario.filters)
    facts |= {c.fact for step in scenario.steps for c in getattr(step, "conditions", ())}
    if hasattr(scenario.trigger, "date_fact"):
        facts.add(scenario.trigger.date_fact)
    return facts | set(scenario.params) | {"first_reachable", "is_false", "is_true", "marketing"}


@pytest.mark.parametrize("locale", ["ja", "en"])
@pytest.mark.parametrize("scenario_id", list(SCENARIOS))
def test_every_scenario_shows_in_words(scenario_id, locale):
    """All 23 scenarios show in Japanese and English: every step numbered in order, no Python repr, no field
    name, no unfilled template field."""
    scenario = SCENARIOS[scenario_id]
    output = "\n".join(show(scenario, locale))
    for fragment in REPRS:
        assert fragment not in output, (scenario_id, fragment)
    for name in field_names(scenario):
        assert name not in output, (scenario_id, name)
    for position, step in enumerate(scenario.steps, 1):
        assert f"\n  {position}. " in output and f"({step.id})" in output.replace("（", "(").replace(
            "）", ")"
        )


@pytest.mark.parametrize("locale", ["ja", "en"])
def test_the_list_is_a_table_in_words(locale):
    """A heading row in words and one row per scenario, columns aligned as a terminal shows them (kanji are
    two columns wide); the paused one says so."""
    lines = list_lines(SCENARIOS.values(), locale, {"renewal_reminder"}, {"visit_reminder": 12})
    assert len(lines) == 1 + len(SCENARIOS)
    heading = {"ja": "番号  シナリオ", "en": "No.  Scenario"}[locale]
    assert lines[0].startswith(heading)
    output = "\n".join(lines)
    for fragment in REPRS:
        assert fragment not in output
    assert "doc_request_followup" not in output and "document_request.requested_on" not in output
    state = {"ja": ("配信中", "一時停止中"), "en": ("running", "paused")}[locale]
    row_5 = next(line for line in lines if line.startswith("#5 "))
    row_14 = next(line for line in lines if line.startswith("#14 "))
    assert row_5.endswith(" 12") and f" {state[1]} " in row_14
    column = {_width(line[: line.index(f" {state[0]} ")]) for line in lines[1:] if f" {state[0]} " in line}
    assert len(column) == 1, column
    if locale == "ja":
        assert (
            lines[0]
            == "番号  シナリオ"
            + " " * 36
            + "開始のタイミング"
            + " " * 17
            + "ステップ  送信  状態          進行中"
        )
        assert lines[1] == (
            "#1    資料請求者への契約促進シナリオ"
            + " " * 14
            + "資料請求日の1日後 19:00"
            + " " * 17
            + "9     3  配信中             0"
        )
        assert "来店予定日の7日前 10:00" in row_5 and "毎月第1・第3金曜日 10:00" in output


def test_scenario_1_reads_like_the_deck():
    """#1 in Japanese: heading, who enters, and each step with its day, channels in order, message text with
    {姓}-style placeholders, buttons, link, and where branches lead."""
    assert show(SCENARIOS["doc_request_followup"], in_progress=3) == [
        "#1 資料請求者への契約促進シナリオ",
        "  ID: doc_request_followup",
        "  状態: 配信中（新しい登録と送信を行っています）",
        "  進行中: 3件",
        "  開始のタイミング: 資料請求日の1日後 19:00",
        "  登録の単位: 資料請求ごとに1回（複数が同時に進むこともあります）",
        "  対象（すべてに当てはまる人だけが入り、ほかは対象外）: 資料請求後の契約：なし",
        "  絞り込み（運用で設定）: なし",
        "  設定できる絞り込み: 資料ID、商品種別ID、商品ID、性別、年代、都道府県",
        "  途中で終了（待機が明けるたびに確認）: 資料請求後の契約：あり → 目標達成",
        "  優先度: 30（同じ日に送信が重なったら、数の小さいシナリオから送ります）",
        "  設定値: 開始までの日数 1日、開始時刻 19:00、次の送信までの日数 1日",
        "  ステップ:",
        "  1. メッセージ A を送信（send_a）",
        "      いつ: 資料請求日の1日後 19:00",
        "      チャネル: LINE → SMS → メール → アプリ通知（この順に、届けられる最初の1つ）",
        "      件名: 【お客さまサポート】保険の料金比較とおすすめの保険のご案内",
        A_TEXT,
        "      ボタン（LINE）: 見積もりを依頼する、来店を予約する",
        "      リンク: https://www.example.jp/products",
        "  2. 待機（wait_a）",
        "      いつ: ステップ1の送信の1日後まで（資料請求日の2日後 19:00）",
        "  3. 反応で分岐（opened_a）",
        "      ステップ1のメッセージを開封した → 6 ／ 開封していない → 4",
        "  4. メッセージ A' を送信（send_a2）",
        "      いつ: 資料請求日の2日後 19:00",
        "      チャネル: LINE → SMS → メール → アプリ通知（この順に、届けられる最初の1つ）",
        "      件名: 【お客さまサポート】保険の料金比較とおすすめの保険のご案内",
        A_TEXT,
        "      ボタン（LINE）: 見積もりを依頼する、来店を予約する",
        "      リンク: https://www.example.jp/products",
        "  5. 待機（wait_a2）",
        "      いつ: ステップ4の送信の1日後まで（資料請求日の3日後 19:00）",
        "  6. 条件で分岐（check_before_b）",
        "      資料請求後の契約：あり → 9 ／ 当てはまらない → 7",
        "  7. メッセージ B を送信（send_b）",
        "      いつ: 資料請求日の2日後 19:00、または 資料請求日の3日後 19:00",
        "      チャネル: LINE → SMS → メール → アプリ通知（この順に、届けられる最初の1つ）",
        "      件名: 【お客さまサポート】ご契約者さま限定キャンペーンのご案内",
        "      本文: {姓}様、いまご契約いただくと特典をお受け取りいただける、ご契約者さま限定キャンペーンを実施中です。",
        "      ボタン（LINE）: 特典を見る",
        "      リンク: https://www.example.jp/campaign",
        "  8. 終了: 最後まで進んだ（finished）",
        "  9. 終了: 目標達成（stopped）",
    ]


def test_scenario_1_in_english():
    """--lang en: the same graph in English, the English message text with English placeholders."""
    lines = show(SCENARIOS["doc_request_followup"], "en")
    for expected in (
        "#1 Contract promotion for document requesters",
        "  Starts: 1 day after the document request date, 19:00",
        (
            "  Who enters (everyone who does not meet all of these is left out): "
            "contract after the document request: no"
        ),
        "  Settings: days until the start: 1 day; start time: 19:00; days until the next send: 1 day",
        "  1. Send message A (send_a)",
        "      Channels: LINE → SMS → email → app notification (in this order, the first that reaches the customer)",
        (
            "      Text: Dear {family name}, thank you for requesting our brochure on {document request date}. "
            "Here is a price comparison and the insurance we recommend for you."
        ),
        "      Buttons (LINE): Get a quote, Book a visit",
        "      When: until 1 day after the send of step 1 (2 days after the document request date, 19:00)",
        "      opened the message of step 1 → 6; not opened → 4",
        "      When: 2 days after the document request date, 19:00, or 3 days after the document request date, 19:00",
        "  9. End: goal reached (stopped)",
    ):
        assert expected in lines, expected


def test_the_operators_timings_and_filters_are_what_is_shown():
    """Settings from the operator's file run and show as such: the changed value, marked with the deck's default,
    and every step's day moves with it; the operator's filters show as conditions."""
    built = build_catalog({"doc_request_followup": {"trigger_at": "09:30", "wait_days": 2}})
    lines = show(built["doc_request_followup"], filters={"customer.prefecture": "東京都"})
    assert (
        "  設定値: 開始までの日数 1日、開始時刻 09:30（運用で変更・既定は 19:00）、"
        "次の送信までの日数 2日（運用で変更・既定は 1日）"
    ) in lines
    assert "  絞り込み（運用で設定）: 都道府県：東京都" in lines
    assert "      いつ: 資料請求日の1日後 09:30" in lines
    assert "      いつ: ステップ1の送信の2日後まで（資料請求日の3日後 09:30）" in lines
    assert "      いつ: 資料請求日の3日後 09:30、または 資料請求日の5日後 09:30" in lines


def test_paused_and_unscheduled_scenarios_say_so():
    """A paused scenario says how to resume it; a campaign without a start date says it does not run."""
    paused = show(SCENARIOS["renewal_reminder"], paused=True)
    assert "  状態: 一時停止中（新しい登録も送信も止めています。再開は flask scenarios resume 14）" in paused
    referral = show(SCENARIOS["referral_campaign"], "en")
    assert "  State: no start date (not running: no start date is set)" in referral
    assert "  Starts: no start date set (10:00)" in referral
    assert any("campaign start date: not set" in line for line in referral)


def test_the_welcome_series_and_a_switched_off_scenario_in_words():
    """#24 starts 60 minutes after a friend-add and invites to the ID link 3 days after A with the link button;
    switched off in the settings file, it says so in the list and in `show`."""
    welcome = SCENARIOS["welcome_series"]
    lines = show(welcome)
    assert "  開始のタイミング: LINE友だち追加の60分後" in lines
    assert "  途中で終了（待機が明けるたびに確認）: LINE ID連携：あり → 目標達成" in lines
    # a text of several lines stays indented under its step
    assert any("\n      ・クーポンの確認\n" in line for line in lines)
    assert any("友だち追加から最初のメッセージまで 60分" in line for line in lines)
    assert "      いつ: LINE友だち追加から3日後（同じ時刻）" in lines
    assert any(line.startswith("      ボタン（LINE）: LINE連携する") for line in lines)
    english = show(welcome, "en")
    assert "  Starts: 60 minutes after LINE friend add" in english
    off = build_catalog({}, {"welcome_series"})["welcome_series"]
    assert any(line.startswith("  状態: 停止（設定ファイル）") for line in show(off))
    [row] = [line for line in list_lines([off], "en", set(), {})[1:]]
    assert "switched off (settings file)" in row


def test_step_days_and_resends_follow_every_path_as_the_engine_counts():
    """#1: B on day 1 after an open, day 2 after the re-send A'; #5: B and C 3 days after A, D and E 3 more, and
    the E after C is no re-send (E was not sent on that path); #2 re-sends A and B as the deck's A' and B'."""
    one = step_days(SCENARIOS["doc_request_followup"])
    assert one["send_a"] == (0,) and one["send_a2"] == (1,) and one["send_b"] == (1, 2)
    five = step_days(SCENARIOS["visit_reminder"])
    assert five["send_b"] == five["send_c"] == (3,)
    assert five["send_d"] == five["send_e"] == five["send_e_after_c"] == (6,)
    assert resends(SCENARIOS["doc_request_followup"]) == {"send_a2"}
    assert resends(SCENARIOS["visit_reminder"]) == set()
    assert resends(SCENARIOS["dormant_doc_request"]) == {"send_a2", "send_b2"}


def test_rarer_shapes_in_words():
    """An event trigger, a control group, every permitted channel, a service notice, an SMS-only step (its SMS
    text, no LINE buttons, no subject) and a last send that ends the flow: each in words."""
    base = SCENARIOS["line_friend_promotion"]
    steps = (
        Send(
            "send_a",
            "line_friend_promotion.a",
            ChannelPolicy(Pick.ALL_PERMITTED, (Channel.LINE, Channel.EMAIL)),
            Purpose.TRANSACTIONAL,
        ),
        Wait("wait_a", after="send_a", days=2),
        Send("send_b", "line_friend_promotion.b", only(Channel.SMS)),
    )
    scenario = replace(base, trigger=OnEvent("friend_added"), steps=steps, holdout=0.1)
    lines = show(scenario)
    assert "  開始のタイミング: LINE友だち追加のとき" in lines
    assert "  効果測定の対照群（登録しても送らない）: 10%" in lines
    assert (
        "      チャネル: LINE、メール（配信を許可しているすべて）、"
        "お知らせ（配信しない時間帯と配信回数の上限の対象外）"
    ) in lines
    assert "      いつ: ステップ1の送信の2日後まで（LINE友だち追加から2日後（同じ時刻））" in lines
    sms_step = lines[lines.index("  3. メッセージ B を送信（send_b）") :]
    assert sms_step[1:3] == ["      いつ: LINE友だち追加から2日後（同じ時刻）", "      チャネル: SMSのみ"]
    assert sms_step[3].startswith("      SMS本文: {姓}様、") and "期限まであと3日" in sms_step[3]
    assert not any(line.startswith(("      件名", "      ボタン", "      本文")) for line in sms_step)
    assert sms_step[-1] == "      次へ: 終了: 最後まで進んだ"


def test_names_are_the_decks_titles():
    """The Japanese names shown are each scenario's own title, so the two cannot drift apart."""
    lines = list_lines(SCENARIOS.values(), "ja", set(), {})
    for line, scenario in zip(lines[1:], SCENARIOS.values(), strict=True):
        assert f"  {scenario.title}  " in line


@pytest.mark.parametrize("scenario_id", list(SCENARIOS))
def test_step_days_agree_with_the_engine(scenario_id):
    """The days `show` prints for each send are the days the engine sends it on, over every combination of
    messages the customer reacts to or ignores."""
    scenario = SCENARIOS[scenario_id]
    sends = [step.id for step in scenario.steps if isinstance(step, Send)]
    entry = datetime(2026, 6, 1, 10, 0, tzinfo=TOKYO)
    seen: dict[str, set[int]] = {}
    for reactions in product([True, False], repeat=len(sends)):
        facts = {
            engaged_fact(send, signal): reacted
            for send, reacted in zip(sends, reactions, strict=True)
            for signal in Signal
        }
        result = engine_step(scenario, None, Enter(entry), entry, facts)
        sent = list(result.sends)
        while result.state.wake_at:
            woken = datetime.fromisoformat(result.state.wake_at)
            result = engine_step(scenario, result.state, Wake(result.state.token), woken, facts)
            sent += result.sends
        for message in sent:
            seen.setdefault(message.step, set()).add((message.due_at - entry).days)
    days = step_days(scenario)
    assert seen and {step: tuple(sorted(found)) for step, found in seen.items()} == {
        step: days[step] for step in seen
    }
