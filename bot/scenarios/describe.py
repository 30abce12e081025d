"""The scenarios in the operator's words, for `flask scenarios list` and `flask scenarios show`: when a scenario
starts, who enters, each step in order with the day it runs, its channels and the text the customer reads, and
which settings an operator changed from the deck's defaults. Japanese by default, English on request; every
word comes from `scenario_view.*` in the locale files.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from bot.platform.i18n import message_document, text
from flows.catalog import SCENARIOS
from flows.dsl import (
    Channel,
    Condition,
    Exit,
    IfEngaged,
    IfSegment,
    MonthlyOn,
    NthWeekdays,
    OnDate,
    Pick,
    Purpose,
    RelativeTo,
    Scenario,
    Send,
    Step,
    Trigger,
    Wait,
    equals,
)
from flows.paths import resends, step_days

PLACEHOLDER = re.compile(r"%\{(\w+)\}")
INDENT = "  "
DETAIL = INDENT * 3
TITLES = {Wait: "wait", IfEngaged: "if_engaged", IfSegment: "if_segment"}


def _t(key: str, locale: str, **fields: object) -> str:
    return text(f"scenario_view.{key}", locale, **fields)


def state(scenario: Scenario, paused: bool) -> str:
    """running, paused, switched_off (the settings file), or no_start_date (a campaign nobody has given a start
    day never fires)."""
    if not scenario.enabled:
        return "switched_off"
    if paused:
        return "paused"
    if isinstance(scenario.trigger, OnDate) and scenario.trigger.day is None:
        return "no_start_date"
    return "running"


def list_lines(
    scenarios: Iterable[Scenario], locale: str, paused: set[str], in_progress: Mapping[str, int]
) -> list[str]:
    """A table, one row per scenario: number, name, when it starts, steps, sends, state, in progress."""
    header = ("number", "name", "trigger", "steps", "sends", "state", "in_progress")
    rows = [[_t(f"list.{column}", locale) for column in header]]
    for s in scenarios:
        sends = sum(isinstance(step, Send) for step in s.steps)
        rows.append(
            [
                f"#{s.number}",
                _t(f"names.{s.id}", locale),
                trigger_words(s.trigger, locale),
                str(len(s.steps)),
                str(sends),
                _t(f"state.{state(s, s.id in paused)}", locale),
                str(in_progress.get(s.id, 0)),
            ]
        )
    widths = [max(_width(row[i]) for row in rows) for i in range(len(header))]
    right = {3, 4, 6}  # the counts

    def line(cells: list[str]) -> str:
        gaps = [" " * (width - _width(cell)) for cell, width in zip(cells, widths, strict=True)]
        padded = [gap + cell if i in right else cell + gap for i, (cell, gap) in enumerate(zip(cells, gaps))]
        return "  ".join(padded).rstrip()

    return [line(row) for row in rows]


def _width(value: str) -> int:
    """Kanji and kana take two columns on a terminal."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in value)


def scenario_lines(
    scenario: Scenario,
    locale: str,
    *,
    paused: bool,
    in_progress: int,
    filters: Mapping[str, object],
    link_targets: Mapping[str, str],
) -> list[str]:
    """The scenario as it will run (the operator's settings and filters applied): a heading, then every step."""
    current = state(scenario, paused)
    sep, none = _t("separator", locale), _t("show.none", locale)
    note = _t(f"state_note.{current}", locale, number=scenario.number)
    status = _t("paren", locale, text=_t(f"state.{current}", locale), note=note)
    entry = _t(f"entry.{scenario.reentry}", locale, anchor=_t(f"anchor.{scenario.anchor}", locale))
    segment = sep.join(condition_words(c, locale) for c in scenario.segment)
    chosen = sep.join(condition_words(equals(fact, value), locale) for fact, value in filters.items())
    offered = sep.join(_t(f"facts.{fact}", locale) for fact in scenario.filters)
    heading = [
        ("show.id", scenario.id),
        ("show.state", status),
        ("list.in_progress", _t("show.in_progress", locale, count=in_progress)),
        ("show.trigger", trigger_words(scenario.trigger, locale)),
        ("show.entry", entry),
        ("show.segment", segment or _t("show.everyone", locale)),
        ("show.filters", chosen or none),
        ("show.filters_offered", offered or none),
        ("show.exit_when", _exit_when(scenario, locale) or none),
        ("show.priority", _t("show.priority_value", locale, priority=scenario.priority)),
        *([("show.holdout", f"{scenario.holdout:.0%}")] if scenario.holdout else []),
        ("show.settings", _settings(scenario, locale) or none),
    ]
    lines = [f"#{scenario.number} {_t(f'names.{scenario.id}', locale)}"]
    lines += [f"{INDENT}{_t(key, locale)}: {value}" for key, value in heading]
    lines.append(f"{INDENT}{_t('show.steps', locale)}:")
    numbers = {step.id: position for position, step in enumerate(scenario.steps, 1)}
    days, again = step_days(scenario), resends(scenario)
    for step in scenario.steps:
        title = _title(step, step.id in again, locale)
        lines.append(INDENT + _t("step.numbered", locale, number=numbers[step.id], title=title, id=step.id))
        details = _details(scenario, step, numbers, days.get(step.id, ()), locale, link_targets)
        lines += [DETAIL + detail for detail in details]
    return lines


def _exit_when(scenario: Scenario, locale: str) -> str:
    if not scenario.exit_when:
        return ""
    conditions = _t("step.all_of", locale).join(condition_words(c, locale) for c in scenario.exit_when)
    return f"{conditions} → {_t(f'outcome.{scenario.exit_outcome}', locale)}"


def _settings(scenario: Scenario, locale: str) -> str:
    """Each setting with the value that runs; one an operator changed says so, with the deck's default."""
    defaults = SCENARIOS[scenario.id].params
    items = []
    for key, value in scenario.params.items():
        shown = _setting_value(key, value, locale)
        if value != defaults[key]:
            default = _setting_value(key, defaults[key], locale)
            shown = _t("show.changed", locale, value=shown, default=default)
        items.append(_t("setting", locale, name=_t(f"settings.{key}", locale), value=shown))
    return _t("settings_separator", locale).join(items)


def _setting_value(key: str, value: object, locale: str) -> str:
    if value is None:
        return _t("not_set", locale)
    if key == "trigger_weekday":
        return _t(f"weekday.{value}", locale)
    if key == "trigger_day":
        return _t("day_of_month", locale, day=value)
    if isinstance(value, tuple):
        return _weeks(value, locale)
    if key.endswith("_minutes"):
        return _t("minutes", locale, count=value)
    return _t("days", locale, count=value) if isinstance(value, int) else str(value)


def _title(step: Step, resent: bool, locale: str) -> str:
    if isinstance(step, Send):
        message = step.template.rsplit(".", 1)[-1].upper() + ("'" if resent else "")
        return _t("step.send", locale, message=message)
    if isinstance(step, Exit):
        return _t("step.exit", locale, outcome=_t(f"outcome.{step.outcome}", locale))
    return _t(f"step.{TITLES[type(step)]}", locale)


def _details(
    scenario: Scenario,
    step: Step,
    numbers: dict[str, int],
    days: tuple[int, ...],
    locale: str,
    link_targets: Mapping[str, str],
) -> list[str]:
    """Under a step: when it runs, its channels and message, or where a branch leads; a jump out of order."""
    if isinstance(step, IfEngaged | IfSegment):
        if isinstance(step, IfEngaged):
            yes = _t(f"signal.{step.signal}", locale, number=numbers[step.message])
            no = _t(f"signal.not_{step.signal}", locale)
        else:
            yes = _t("step.all_of", locale).join(condition_words(c, locale) for c in step.conditions)
            no = _t("step.segment_no", locale)
        return [
            _t("step.branch", locale, yes=yes, yes_step=numbers[step.yes], no=no, no_step=numbers[step.no])
        ]
    if isinstance(step, Exit):
        return []
    when = _t("trigger.either", locale).join(step_time(scenario.trigger, day, locale) for day in days)
    if isinstance(step, Wait):
        span = _t("days", locale, count=step.days)
        when = _t("step.until", locale, number=numbers[step.after], days=span, when=when)
    details = [f"{_t('step.when', locale)}: {when}"]
    if isinstance(step, Send):
        details.append(f"{_t('step.channels', locale)}: {_channels(step, locale)}")
        details += _message(step, locale, scenario.params, link_targets)
    following = scenario.after(step)
    if following is None:  # past the last step the engine ends the flow as finished
        finished = _t("step.exit", locale, outcome=_t("outcome.finished", locale))
        details.append(f"{_t('step.next', locale)}: {finished}")
    elif numbers[following] != numbers[step.id] + 1:
        details.append(f"{_t('step.next', locale)}: {numbers[following]}")
    return details


def _channels(step: Send, locale: str) -> str:
    names = [text(f"tracking.channel.{channel}", locale) for channel in step.channels.channels]
    ordered = step.channels.pick is Pick.FIRST_REACHABLE
    words = _t(
        f"pick.{step.channels.pick}",
        locale,
        channels=(" → " if ordered else _t("separator", locale)).join(names),
    )
    if step.purpose is Purpose.TRANSACTIONAL:
        words += _t("separator", locale) + _t("transactional", locale)
    return words


def _message(
    step: Send, locale: str, params: Mapping[str, object], link_targets: Mapping[str, str]
) -> list[str]:
    """The parts the step's channels use: subject (email, app), text, SMS text, LINE buttons, the link's page."""
    parts = _template_parts(step.template, locale)
    channels = set(step.channels.channels)
    shown = {
        "subject": bool(channels & {Channel.EMAIL, Channel.PUSH}),
        "text": bool(channels - {Channel.SMS}) or not parts.get("sms"),
        "sms": Channel.SMS in channels,
    }
    lines = [
        f"{_t(f'message.{part}', locale)}: {_filled(parts[part], locale, params)}".replace(
            "\n", "\n" + DETAIL
        )
        for part, wanted in shown.items()
        if wanted and parts.get(part)
    ]
    if parts.get("buttons") and Channel.LINE in channels:
        labels = [text(f"delivery.actions.{action}", locale) for action in parts["buttons"]]
        lines.append(f"{_t('message.buttons', locale)}: {_t('separator', locale).join(labels)}")
    if parts.get("link"):
        lines.append(f"{_t('message.link', locale)}: {link_targets[parts['link']]}")
    return lines


def _template_parts(template: str, locale: str) -> dict[str, Any]:
    """The template in `locale`, else in Japanese (as the senders fall back)."""
    scenario, _, message = template.partition(".")
    for language in dict.fromkeys((locale, "ja")):
        parts = message_document(language)["messages"].get(scenario, {}).get(message)
        if parts:
            return parts
    return {}


def _filled(raw: str, locale: str, params: Mapping[str, object]) -> str:
    """The service's name and the scenario's settings (campaign_days …) as sent; a customer's own data as {姓}."""

    def field(match: re.Match[str]) -> str:
        key = match[1]
        if key == "service_name":
            return text("common.service_name", locale)
        if key in params:
            return str(params[key])
        return "{" + _t(f"fields.{key}", locale) + "}"

    return PLACEHOLDER.sub(field, raw)


def trigger_words(trigger: Trigger, locale: str) -> str:
    """資料請求日の1日後 19:00, 毎月1日 10:00, 毎月第1・第3金曜日 10:00 …"""
    if isinstance(trigger, RelativeTo):
        return _relative(trigger.date_fact, trigger.days, trigger.at, locale)
    if isinstance(trigger, MonthlyOn):
        return _t("trigger.monthly", locale, day=trigger.day, at=trigger.at)
    if isinstance(trigger, NthWeekdays):
        weeks, weekday = _weeks(trigger.weeks, locale), _t(f"weekday.{trigger.weekday}", locale)
        return _t("trigger.weekdays", locale, weeks=weeks, weekday=weekday, at=trigger.at)
    if isinstance(trigger, OnDate):
        key = "trigger.on_date" if trigger.day else "trigger.no_date"
        return _t(key, locale, day=trigger.day, at=trigger.at)
    event = _t(f"events.{trigger.event}", locale)
    if trigger.delay_minutes:
        return _t("trigger.event_later", locale, event=event, count=trigger.delay_minutes)
    return _t("trigger.event", locale, event=event)


def step_time(trigger: Trigger, day: int, locale: str) -> str:
    """When a step `day` days after entry runs: counted from the trigger's own date where it has one."""
    if isinstance(trigger, RelativeTo):
        return _relative(trigger.date_fact, trigger.days + day, trigger.at, locale)
    if day == 0:
        return trigger_words(trigger, locale)
    if isinstance(trigger, MonthlyOn | NthWeekdays | OnDate):
        return _t("trigger.after_start", locale, count=day, at=trigger.at)
    return _t("trigger.after_event", locale, count=day, event=_t(f"events.{trigger.event}", locale))


def _relative(date_fact: str, days: int, at: str, locale: str) -> str:
    date = _t(f"facts.{date_fact}", locale)
    if days == 0:
        return _t("relative.same_day", locale, date=date, at=at)
    return _t("relative.after" if days > 0 else "relative.before", locale, date=date, count=abs(days), at=at)


def _weeks(weeks: Iterable[int], locale: str) -> str:
    return _t("trigger.weeks_join", locale).join(_t(f"week.{week}", locale) for week in weeks)


def condition_words(condition: Condition, locale: str) -> str:
    """来店キャンセル：なし, 店舗ID：S01, ページURLに「/mypage/cancel」を含む …"""
    value = condition.value
    if isinstance(value, bool):
        value = _t("condition.yes" if value else "condition.no", locale)
    fact = _t(f"facts.{condition.fact}", locale)
    return _t(f"condition.{condition.op}", locale, fact=fact, value=value)
