"""A scenario drawn as a Mermaid flowchart, generated from the scenario's own data so that it cannot drift from
what runs: `flask scenarios show N --mermaid FILE`."""

from __future__ import annotations

from flows.dsl import (
    Condition,
    Exit,
    IfEngaged,
    IfSegment,
    MonthlyOn,
    NthWeekdays,
    OnDate,
    OnEvent,
    RelativeTo,
    Scenario,
    Send,
    Trigger,
    Wait,
)

_SIGNALS = {"opened": "開封", "clicked": "クリック", "tapped": "タップ"}
_WEEKDAYS = "月火水木金土日"


def describe_trigger(trigger: Trigger) -> str:
    """The trigger in the deck's words: 資料請求日の1日後 19:00, 毎月1日 10:00, 第1・第3金曜日 10:00 …"""
    if isinstance(trigger, RelativeTo):
        days = trigger.days
        offset = f"{days}日後" if days > 0 else f"{-days}日前" if days < 0 else "当日"
        return f"{trigger.date_fact} の{offset} {trigger.at}"
    if isinstance(trigger, MonthlyOn):
        return f"毎月{trigger.day}日 {trigger.at}"
    if isinstance(trigger, NthWeekdays):
        weeks = "・".join(f"第{week}" for week in trigger.weeks)
        return f"{weeks}{_WEEKDAYS[trigger.weekday]}曜日 {trigger.at}"
    if isinstance(trigger, OnDate):
        return f"{trigger.day} {trigger.at}" if trigger.day else f"開始日未設定 ({trigger.at})"
    assert isinstance(trigger, OnEvent)
    later = f" の{trigger.delay_minutes}分後" if trigger.delay_minutes else ""
    return f"イベント {trigger.event}{later}"


def _condition(condition: Condition) -> str:
    value = "" if condition.value is None else f" {condition.value}"
    return f"{condition.fact} {condition.op}{value}"


def _label(scenario: Scenario, node: object) -> str:
    if isinstance(node, Send):
        channels = "/".join(str(c) for c in node.channels.channels)
        return f"送信 {node.template.rsplit('.', 1)[-1].upper()}<br/>{node.id} · {channels}"
    if isinstance(node, Wait):
        return f"{node.after} 送付から{node.days}日 待機"
    if isinstance(node, IfEngaged):
        return f"{node.message} {_SIGNALS.get(str(node.signal), node.signal)}?"
    if isinstance(node, IfSegment):
        return " and ".join(_condition(c) for c in node.conditions) + "?"
    assert isinstance(node, Exit)
    return f"終了 ({node.outcome})"


def _quoted(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


def _heading(scenario: Scenario) -> str:
    """Title, trigger, entry segment and what ends the flow at any wake-up (`exit_when`)."""
    lines = [f"#{scenario.number} {scenario.title}", describe_trigger(scenario.trigger)]
    if scenario.segment:
        lines.append("対象: " + " and ".join(_condition(c) for c in scenario.segment))
    if scenario.exit_when:
        lines.append(
            f"終了条件 ({scenario.exit_outcome}): " + " and ".join(_condition(c) for c in scenario.exit_when)
        )
    return "<br/>".join(lines)


def mermaid(scenario: Scenario) -> str:
    """The flowchart: trigger, every step with its label, and every edge (branches labelled はい/いいえ)."""
    lines = [
        "flowchart TD",
        f"  trigger([{_quoted(_heading(scenario))}])",
    ]
    lines.append(f"  trigger --> {scenario.steps[0].id}")
    for node in scenario.steps:
        label = _quoted(_label(scenario, node))
        if isinstance(node, IfEngaged | IfSegment):
            lines.append(f"  {node.id}{{{label}}}")
            lines.append(f"  {node.id} -- はい --> {node.yes}")
            lines.append(f"  {node.id} -- いいえ --> {node.no}")
        elif isinstance(node, Exit):
            lines.append(f"  {node.id}([{label}])")
        else:
            lines.append(f"  {node.id}[{label}]")
            following = scenario.after(node)
            if following:
                lines.append(f"  {node.id} --> {following}")
    return "\n".join(lines) + "\n"
