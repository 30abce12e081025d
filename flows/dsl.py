"""Scenarios as data: when a customer enters (trigger and segment), and the steps that follow (sends, waits,
branches, exits), in the deck's own terms so that a marketer can check a flow module against the deck.

Everything here is plain frozen data and checked when it is built: step ids are unique, every branch and wait
points at a step that exists, and every step can be reached from the first. Message templates are checked
against the locale files by `check_templates` (the catalogue passes in the keys it knows).

Times are wall-clock times in Japan (HH:MM, Asia/Tokyo); day offsets count calendar days in Japan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

# ── conditions (セグメント条件) ─────────────────────────────────────────────────────────────────────────────


class Op(StrEnum):
    EQUALS = "equals"  # 指定した〇〇と等しい
    IS_TRUE = "is_true"  # 真
    IS_FALSE = "is_false"  # 偽 (unknown counts as false: an unknown permission never permits)
    DAYS_SINCE = "days_since"  # 〇〇からの経過日数『N』と等しい
    DAYS_UNTIL = "days_until"  # 〇〇までの残日数『N』と等しい
    CONTAINS = "contains"  # 〇〇を含む (text)


@dataclass(frozen=True)
class Condition:
    """One AND-ed condition on a named fact such as `document_request.contracted` or `customer.prefecture`."""

    fact: str
    op: Op
    value: object = None

    def __post_init__(self) -> None:
        needs_value = self.op in (Op.EQUALS, Op.DAYS_SINCE, Op.DAYS_UNTIL, Op.CONTAINS)
        if needs_value and self.value is None:
            raise ScenarioError(f"condition on {self.fact}: {self.op} needs a value")
        if self.op in (Op.DAYS_SINCE, Op.DAYS_UNTIL) and not isinstance(self.value, int):
            raise ScenarioError(f"condition on {self.fact}: {self.op} needs a whole number of days")


def equals(fact: str, value: object) -> Condition:
    return Condition(fact, Op.EQUALS, value)


def is_true(fact: str) -> Condition:
    return Condition(fact, Op.IS_TRUE)


def is_false(fact: str) -> Condition:
    return Condition(fact, Op.IS_FALSE)


def days_since(fact: str, days: int) -> Condition:
    return Condition(fact, Op.DAYS_SINCE, days)


def days_until(fact: str, days: int) -> Condition:
    return Condition(fact, Op.DAYS_UNTIL, days)


def contains(fact: str, text: str) -> Condition:
    return Condition(fact, Op.CONTAINS, text)


# ── triggers (トリガー) ──────────────────────────────────────────────────────────────────────────────────


def check_clock(at: str) -> None:
    hour, _, minute = at.partition(":")
    if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60 and len(minute) == 2):
        raise ScenarioError(f"not a time of day: {at!r} (use HH:MM, Japan time)")


@dataclass(frozen=True)
class RelativeTo:
    """N days after (positive) or before (negative) a date of the anchor record: 資料請求の翌日 19:00 is
    RelativeTo("document_request.requested_on", 1, "19:00"), 来店の7日前 10:00 is (…visit_on, -7, "10:00")."""

    date_fact: str
    days: int
    at: str

    def __post_init__(self) -> None:
        check_clock(self.at)


@dataclass(frozen=True)
class MonthlyOn:
    """毎月1日 10:00: a day of every month."""

    day: int
    at: str

    def __post_init__(self) -> None:
        check_clock(self.at)
        if not 1 <= self.day <= 28:
            raise ScenarioError(f"monthly day {self.day}: use 1–28 so that every month has it")


@dataclass(frozen=True)
class NthWeekdays:
    """第1・第3金曜日 10:00: weeks (1–5) of the month and a weekday (0 Monday … 6 Sunday)."""

    weeks: tuple[int, ...]
    weekday: int
    at: str

    def __post_init__(self) -> None:
        check_clock(self.at)
        if not self.weeks or any(not 1 <= week <= 5 for week in self.weeks) or not 0 <= self.weekday <= 6:
            raise ScenarioError(f"nth weekdays {self.weeks}/{self.weekday}: weeks 1–5, weekday 0–6")


@dataclass(frozen=True)
class OnDate:
    """A fixed day, such as a campaign's start (友だち紹介キャンペーン開始日 10:00); ISO date, or None while the
    operator has not set one (the scenario then never fires)."""

    day: str | None
    at: str

    def __post_init__(self) -> None:
        check_clock(self.at)
        if self.day is not None:
            try:
                date.fromisoformat(self.day)
            except ValueError:
                raise ScenarioError(f"not a date: {self.day!r} (use YYYY-MM-DD)") from None


class Event(StrEnum):
    """What a customer did that can start a scenario (OnEvent), reported by the chat or the events API."""

    FRIEND_ADDED = "friend_added"  # 友だち追加 (a follow, an unblock too)
    LINKED = "linked"  # ID連携 completed
    EMAIL_REGISTERED = "email_registered"  # メールアドレス登録 (in the chat, or `email_updated` by the API)
    BOOKING_MADE = "booking_made"  # 来店予約 (in the chat, or `reservation_made` by the API)
    REQUEST_CLOSED = "request_closed"  # a service-desk request 完了


@dataclass(frozen=True)
class OnEvent:
    """Something the customer did that starts a scenario at once, or `delay_minutes` later (the step-message
    tools' 友だち追加から30分後): the moment the customer enters, from which the flow's waits count."""

    event: str
    delay_minutes: int = 0

    def __post_init__(self) -> None:
        if self.event not in set(Event):
            known = ", ".join(Event)
            raise ScenarioError(f"no event {self.event!r} starts a scenario (events: {known})")
        if not isinstance(self.delay_minutes, int) or not 0 <= self.delay_minutes < 24 * 60:
            raise ScenarioError(f"event delay {self.delay_minutes!r}: whole minutes, 0 to 1439")


Trigger = RelativeTo | MonthlyOn | NthWeekdays | OnDate | OnEvent

# ── channels ─────────────────────────────────────────────────────────────────────────────────────────────


class Channel(StrEnum):
    """How a message reaches a customer; tables keep the value as a string."""

    LINE = "line"
    SMS = "sms"
    EMAIL = "email"
    PUSH = "push"


class Pick(StrEnum):
    FIRST_REACHABLE = "first_reachable"  # the first channel in order that is permitted and reachable
    ONLY = "only"  # this one channel or nothing (the deck's email-only and SMS-only messages of #5 and #6)
    ALL_PERMITTED = "all_permitted"  # every permitted channel


@dataclass(frozen=True)
class ChannelPolicy:
    pick: Pick
    channels: tuple[Channel, ...]

    def __post_init__(self) -> None:
        if not self.channels or (self.pick is Pick.ONLY and len(self.channels) != 1):
            raise ScenarioError(f"channel policy {self.pick}: {self.channels}")


LADDER = ChannelPolicy(Pick.FIRST_REACHABLE, (Channel.LINE, Channel.SMS, Channel.EMAIL, Channel.PUSH))


def only(channel: Channel) -> ChannelPolicy:
    return ChannelPolicy(Pick.ONLY, (channel,))


class Purpose(StrEnum):
    """Why a message is sent (what rules apply); tables keep the value as a string."""

    MARKETING = "marketing"  # campaigns: the channel's opt-in, caps and quiet hours apply
    TRANSACTIONAL = "transactional"  # service notices (visit reminders, desk replies): exempt from caps


# ── steps (シナリオ) ─────────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Send:
    """Send message `template` (A, A', B …). Falls through to the next step unless `then` names another."""

    id: str
    template: str
    channels: ChannelPolicy = LADDER
    purpose: Purpose = Purpose.MARKETING
    then: str | None = None


@dataclass(frozen=True)
class Wait:
    """X送付からN日 待機: until N days after send step `after` was sent, at the same clock time."""

    id: str
    after: str
    days: int
    then: str | None = None


class Signal(StrEnum):
    OPENED = "opened"  # 開封 (email pixel, LINE message read is not reported by LINE: a tap or click counts)
    CLICKED = "clicked"  # クリック (a tracked link)
    TAPPED = "tapped"  # a LINE button or quick reply (postback)


@dataclass(frozen=True)
class IfEngaged:
    """開封分岐 / クリック分岐: did the customer open, click or tap message `message`?"""

    id: str
    message: str
    signal: Signal
    yes: str
    no: str


@dataclass(frozen=True)
class IfSegment:
    """セグメント分岐 / カスタム分岐 on live data (contracted, cancelled, re-booked, used, registered, linked)."""

    id: str
    conditions: tuple[Condition, ...]
    yes: str
    no: str


class Outcome(StrEnum):
    CONVERTED = "converted"  # the scenario's goal: 契約, 予約, 来店, 利用, 入力, 連携, 登録
    CANCELLED = "cancelled"  # the anchor went away (reservation cancelled)
    FINISHED = "finished"  # the last step was reached
    OPTED_OUT = "opted_out"  # no channel may be used any more


@dataclass(frozen=True)
class Exit:
    id: str
    outcome: Outcome = Outcome.FINISHED


Step = Send | Wait | IfEngaged | IfSegment | Exit

# ── the scenario ─────────────────────────────────────────────────────────────────────────────────────────


class ScenarioError(ValueError):
    """A scenario that cannot run as written (the message says which step or value)."""


class Anchor(StrEnum):
    """What one enrollment is about: a customer enters once per anchor record."""

    DOCUMENT_REQUEST = "document_request"
    QUOTE = "quote"
    RESERVATION = "reservation"
    PAGE_VIEW = "page_view"  # one per customer and day of viewing, however many pages were viewed
    CONTRACT_YEAR = "contract_year"  # one per customer and renewal date
    CONTRACT_START = "contract_start"  # one per customer and first contract start date
    BENEFIT = "benefit"  # one per campaign benefit granted
    LINE_MEMBER = "line_member"  # one per customer and LINE member registration date
    OCCURRENCE = "occurrence"  # calendar and event triggers: once per customer per trigger (or event) day


class Reentry(StrEnum):
    """Whether a customer may be in a scenario more than once at a time."""

    PER_ANCHOR = "per_anchor"  # one enrollment per anchor record, several may run side by side (two requests)
    ONE_AT_A_TIME = "one_at_a_time"  # not while an earlier enrollment of this scenario is still running


@dataclass(frozen=True)
class Scenario:
    id: str
    number: int
    title: str  # the deck's Japanese title
    trigger: Trigger
    anchor: Anchor
    segment: tuple[Condition, ...]
    steps: tuple[Step, ...]
    filters: tuple[str, ...] = ()  # optional conditions (○) an operator may set, by fact name
    exit_when: tuple[Condition, ...] = ()  # checked at every wake-up: the goal reached ends the flow
    exit_outcome: Outcome = Outcome.CONVERTED  # how `exit_when` ends it (#10: the contract ended = cancelled)
    priority: int = 100  # lower wins when two scenarios would send to one customer on one day
    holdout: float = 0.0  # share of entrants held out (enrolled, never sent)
    reentry: Reentry = Reentry.PER_ANCHOR
    params: dict[str, object] = field(default_factory=dict, compare=False)  # the deck's defaults, shown
    enabled: bool = (
        True  # the operator's settings file may switch a scenario off: nobody enters, nothing moves
    )

    def __post_init__(self) -> None:
        # the steps by id and their positions, looked up for every step of every enrollment advanced
        object.__setattr__(self, "_by_id", {step.id: step for step in self.steps})
        object.__setattr__(self, "_position", {step.id: i for i, step in enumerate(self.steps)})
        _check_graph(self)
        if not 0 <= self.holdout < 1:
            raise ScenarioError(f"{self.id}: holdout {self.holdout} must be at least 0 and below 1")

    def step(self, step_id: str) -> Step:
        return _index(self)[step_id]

    def after(self, step: Step) -> str | None:
        """The step that follows a Send or Wait: its `then`, else the next in order (None after the last)."""
        if getattr(step, "then", None):
            return step.then  # type: ignore[union-attr]
        position = self._position.get(step.id)  # type: ignore[attr-defined]
        if position is None or (self.steps[position] is not step and self.steps[position] != step):
            position = self.steps.index(step)
        return self.steps[position + 1].id if position + 1 < len(self.steps) else None


def _index(scenario: Scenario) -> dict[str, Step]:
    return scenario._by_id  # type: ignore[attr-defined,no-any-return]


def _targets(scenario: Scenario, step: Step) -> list[str]:
    if isinstance(step, IfEngaged | IfSegment):
        return [step.yes, step.no]
    if isinstance(step, Exit):
        return []
    following = scenario.after(step)
    return [following] if following else []


def _check_graph(scenario: Scenario) -> None:
    name = f"scenario {scenario.id}"
    if not scenario.steps:
        raise ScenarioError(f"{name}: no steps")
    ids = [step.id for step in scenario.steps]
    duplicates = sorted({step_id for step_id in ids if ids.count(step_id) > 1})
    if duplicates:
        raise ScenarioError(f"{name}: step ids used twice: {', '.join(duplicates)}")
    steps = {step.id: step for step in scenario.steps}
    for step in scenario.steps:
        for target in _targets(scenario, step):
            if target not in steps:
                raise ScenarioError(f"{name}: step {step.id} goes to {target}, which does not exist")
        referenced = getattr(step, "after", None) or getattr(step, "message", None)
        if referenced is not None and not isinstance(steps.get(referenced), Send):
            raise ScenarioError(f"{name}: step {step.id} refers to {referenced}, which is not a send step")
    reached, queue = set(), [scenario.steps[0].id]
    while queue:
        current = queue.pop()
        if current not in reached:
            reached.add(current)
            queue.extend(_targets(scenario, steps[current]))
    unreachable = [step_id for step_id in ids if step_id not in reached]
    if unreachable:
        raise ScenarioError(f"{name}: steps that can never be reached: {', '.join(unreachable)}")


def check_templates(scenario: Scenario, known: set[str]) -> None:
    """Every message template of the scenario exists (`known` comes from the locale files)."""
    missing = sorted({s.template for s in scenario.steps if isinstance(s, Send)} - known)
    if missing:
        raise ScenarioError(
            f"scenario {scenario.id}: templates not in the locale files: {', '.join(missing)}"
        )


def filter_conditions(scenario: Scenario, filters: Mapping[str, object]) -> tuple[Condition, ...]:
    """The operator's optional filters (○) as conditions; a filter the scenario does not offer is an error."""
    unknown = sorted(set(filters) - set(scenario.filters))
    if unknown:
        offered = ", ".join(scenario.filters) or "none"
        raise ScenarioError(
            f"scenario {scenario.id}: no optional filter {', '.join(unknown)} (offered: {offered})"
        )
    return tuple(equals(fact, value) for fact, value in filters.items())
