"""The scenario engine: a pure function from (scenario, state, input, now, facts) to (new state, effects).

It reads nothing and writes nothing. The runner loads an enrollment's state and the customer's live facts,
calls `step`, stores the new state, and carries out the effects: messages to send (through the delivery
ledger), the next wake-up, and the decisions to record in the explain trace.

Clock times are kept: every step carries the moment it was due ("nominal" time). A wait ends N days after the
nominal time of the send it refers to, so a flow that starts at 19:00 sends at 19:00 on later days even when a
tick ran a few minutes late, and a worker that was down catches up without moving the timeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from flows.dsl import (
    ChannelPolicy,
    Condition,
    Exit,
    IfEngaged,
    IfSegment,
    MonthlyOn,
    NthWeekdays,
    OnEvent,
    Op,
    Outcome,
    Purpose,
    RelativeTo,
    Scenario,
    Send,
    Trigger,
    Wait,
)

TOKYO = ZoneInfo("Asia/Tokyo")
MAX_STEPS_PER_CALL = 200  # a flow with a cycle of branches and no wait would otherwise never return

Facts = Mapping[str, object]


class Status(StrEnum):
    ACTIVE = "active"
    DONE = "done"


@dataclass(frozen=True)
class State:
    """Where one enrollment is: the step it waits at, when each send was due, and the current wake token."""

    step: str | None
    clock: str  # nominal time (ISO, aware) of the current point in the flow
    sent: dict[str, str] = field(default_factory=dict)  # send step id → nominal time it was sent
    token: int = 0
    wake_at: str | None = None
    status: Status = Status.ACTIVE
    outcome: Outcome | None = None
    held_out: bool = False

    def but(self, **changes: object) -> State:
        """A copy with `changes`, as `dataclasses.replace` makes it, at a fraction of its cost: the engine makes
        several per enrollment advanced."""
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__, **changes)
        return copy

    def to_json(self) -> dict[str, object]:
        return {
            "step": self.step,
            "clock": self.clock,
            "sent": dict(self.sent),
            "token": self.token,
            "wake_at": self.wake_at,
            "status": str(self.status),
            "outcome": str(self.outcome) if self.outcome else None,
            "held_out": self.held_out,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> State:
        outcome = data.get("outcome")
        return cls(
            step=data["step"],  # type: ignore[arg-type]
            clock=data["clock"],  # type: ignore[arg-type]
            sent=dict(data.get("sent") or {}),  # type: ignore[arg-type]
            token=int(data.get("token") or 0),  # type: ignore[arg-type]
            wake_at=data.get("wake_at"),  # type: ignore[arg-type]
            status=Status(data.get("status") or Status.ACTIVE),
            outcome=Outcome(outcome) if outcome else None,
            held_out=bool(data.get("held_out")),
        )


# ── inputs ──────────────────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Enter:
    """The customer enters at `at`, the trigger's nominal moment (e.g. today 19:00 JST)."""

    at: datetime
    held_out: bool = False


@dataclass(frozen=True)
class Wake:
    """A timer fired; a token other than the state's current one is stale and changes nothing."""

    token: int


Input = Enter | Wake

# ── effects ─────────────────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class SendMessage:
    step: str
    template: str
    channels: ChannelPolicy
    purpose: Purpose
    due_at: datetime


@dataclass(frozen=True)
class WakeAt:
    at: datetime
    token: int


@dataclass(frozen=True)
class Decision:
    """One line of the explain trace: a code (translated when shown) and its details."""

    code: str
    step: str | None = None
    details: tuple[tuple[str, object], ...] = ()


Effect = SendMessage | WakeAt | Decision


@dataclass(frozen=True)
class Result:
    state: State
    effects: tuple[Effect, ...]

    @property
    def sends(self) -> list[SendMessage]:
        return [e for e in self.effects if isinstance(e, SendMessage)]

    @property
    def decisions(self) -> list[Decision]:
        return [e for e in self.effects if isinstance(e, Decision)]


# ── conditions ──────────────────────────────────────────────────────────────────────────────────────────


def holds(condition: Condition, facts: Facts, today: date) -> bool:
    """Whether a condition is true of the facts on `today` (a day in Japan). Unknown facts are false."""
    value = facts.get(condition.fact)
    if condition.op is Op.IS_TRUE:
        return value is True
    if condition.op is Op.IS_FALSE:
        return value is not True
    if value is None:
        return False
    if condition.op is Op.EQUALS:
        return value == condition.value
    if condition.op is Op.CONTAINS:
        return str(condition.value) in str(value)
    days = (today - value).days if condition.op is Op.DAYS_SINCE else (value - today).days  # type: ignore[operator]
    return days == condition.value


def all_hold(conditions: tuple[Condition, ...], facts: Facts, today: date) -> bool:
    return all(holds(condition, facts, today) for condition in conditions)


def engaged_fact(step: str, signal: str) -> str:
    """The fact name under which the runner reports engagement with a sent message."""
    return f"engaged.{step}.{signal}"


def japan_day(moment: datetime) -> date:
    return moment.astimezone(TOKYO).date()


# ── the engine ──────────────────────────────────────────────────────────────────────────────────────────


def step(scenario: Scenario, state: State | None, given: Input, now: datetime, facts: Facts) -> Result:
    """Advance one enrollment as far as it can go at `now`; `state` is None for a new entrant."""
    if isinstance(given, Enter):
        if state is not None:
            return Result(state, (Decision("already_enrolled"),))
        begun = State(step=scenario.steps[0].id, clock=given.at.isoformat(), held_out=given.held_out)
        entered = Decision("entered_held_out" if given.held_out else "entered", details=(("at", given.at),))
        return _run(scenario, begun, now, facts, [entered])
    if state is None or state.status is Status.DONE:
        return Result(state or State(None, now.isoformat()), (Decision("wake_after_end"),))
    if given.token != state.token:
        return Result(state, (Decision("stale_wake", details=(("token", given.token),)),))
    woken = state.but(wake_at=None)
    if scenario.exit_when and all_hold(scenario.exit_when, facts, japan_day(now)):
        code = "goal_reached" if scenario.exit_outcome is Outcome.CONVERTED else "left"
        return _finish(woken, scenario.exit_outcome, [Decision(code, woken.step)])
    return _run(scenario, woken, now, facts, [])


def _finish(state: State, outcome: Outcome, effects: list[Effect]) -> Result:
    done = state.but(step=None, status=Status.DONE, outcome=outcome, wake_at=None)
    return Result(done, (*effects, Decision("exited", details=(("outcome", outcome),))))


def _run(scenario: Scenario, state: State, now: datetime, facts: Facts, effects: list[Effect]) -> Result:
    for _ in range(MAX_STEPS_PER_CALL):
        if state.step is None:
            return _finish(state, Outcome.FINISHED, effects)
        current = scenario.step(state.step)
        clock = datetime.fromisoformat(state.clock)
        if isinstance(current, Exit):
            return _finish(state, current.outcome, effects)
        if isinstance(current, Send):
            state = _send(scenario, state, current, clock, effects)
        elif isinstance(current, Wait):
            anchor = state.sent.get(current.after)
            if anchor is None:  # the path did not pass that send (a flow drawn that way): count from here
                effects.append(Decision("wait_from_here", current.id, (("missing", current.after),)))
            until = (datetime.fromisoformat(anchor) if anchor else clock) + timedelta(days=current.days)
            if until > now:
                token = state.token + 1
                effects.append(WakeAt(until, token))
                effects.append(Decision("waiting", current.id, (("until", until),)))
                return Result(state.but(token=token, wake_at=until.isoformat()), tuple(effects))
            state = state.but(step=scenario.after(current), clock=max(until, clock).isoformat())
        elif isinstance(current, IfEngaged):
            engaged = facts.get(engaged_fact(current.message, current.signal)) is True
            effects.append(Decision("engaged" if engaged else "not_engaged", current.id, _about(current)))
            state = state.but(step=current.yes if engaged else current.no)
        elif isinstance(current, IfSegment):
            matched = all_hold(current.conditions, facts, japan_day(clock))
            effects.append(Decision("segment_yes" if matched else "segment_no", current.id))
            state = state.but(step=current.yes if matched else current.no)
    raise RuntimeError(f"scenario {scenario.id}: more than {MAX_STEPS_PER_CALL} steps without a wait")


def _about(branch: IfEngaged) -> tuple[tuple[str, object], ...]:
    return (("message", branch.message), ("signal", str(branch.signal)))


def _send(scenario: Scenario, state: State, send: Send, clock: datetime, effects: list[Effect]) -> State:
    if state.held_out:
        effects.append(Decision("held_out_not_sent", send.id, (("template", send.template),)))
    else:
        effects.append(SendMessage(send.id, send.template, send.channels, send.purpose, clock))
    sent = {**state.sent, send.id: clock.isoformat()}
    return state.but(step=scenario.after(send), sent=sent)


# ── triggers ────────────────────────────────────────────────────────────────────────────────────────────


def fires_at(trigger: Trigger, day: date) -> datetime | None:
    """The moment (Japan time) a calendar or date trigger fires on `day`, or None if it does not fire then.

    A trigger relative to a record's date fires every day, for the records whose date is `days` away.
    Event triggers never fire on the calendar.
    """
    if isinstance(trigger, OnEvent):
        return None
    hour, minute = (int(part) for part in trigger.at.split(":"))
    moment = datetime.combine(day, time(hour, minute), TOKYO)
    if isinstance(trigger, RelativeTo):
        return moment
    if isinstance(trigger, MonthlyOn):
        return moment if day.day == trigger.day else None
    if isinstance(trigger, NthWeekdays):
        week = (day.day - 1) // 7 + 1
        return moment if day.weekday() == trigger.weekday and week in trigger.weeks else None
    return moment if trigger.day is not None and day == date.fromisoformat(trigger.day) else None
