"""Every path through a scenario's flow, walked as the engine would walk it: the day after entry each step runs,
and which sends repeat a message already sent (the deck's A' and B'). `flask scenarios show` prints both.
"""

from __future__ import annotations

from collections.abc import Iterator

from flows.dsl import Exit, IfEngaged, IfSegment, Scenario, Send, Step, Wait


def step_days(scenario: Scenario) -> dict[str, tuple[int, ...]]:
    """The days after entry on which each step can run, over every path through the flow."""
    found: dict[str, set[int]] = {}
    for step, day, _ in _visits(scenario):
        found.setdefault(step.id, set()).add(day)
    return {step_id: tuple(sorted(days)) for step_id, days in found.items()}


def resends(scenario: Scenario) -> set[str]:
    """The send steps that repeat a message already sent on every path to them: the deck's A' and B'."""
    templates = {step.id: step.template for step in scenario.steps if isinstance(step, Send)}
    repeated: dict[str, set[bool]] = {}
    for step, _, sent in _visits(scenario):
        if isinstance(step, Send):
            again = any(templates[earlier] == step.template for earlier in sent)
            repeated.setdefault(step.id, set()).add(again)
    return {step_id for step_id, seen in repeated.items() if seen == {True}}


def _visits(scenario: Scenario) -> Iterator[tuple[Step, int, dict[str, int]]]:
    """Each step as every path through the flow reaches it, with the day after entry it runs and the sends made
    before it. A wait ends N days after the send it names, or N days after it starts when that send is not on
    the path (as the engine counts)."""
    paths: list[tuple[str, int, dict[str, int], int]] = [(scenario.steps[0].id, 0, {}, 0)]
    while paths:
        step_id, day, sent, depth = paths.pop()
        step = scenario.step(step_id)
        if isinstance(step, Wait):
            day = max(sent.get(step.after, day) + step.days, day)
        yield step, day, sent
        if isinstance(step, Send):
            sent = {**sent, step.id: day}
        if isinstance(step, IfEngaged | IfSegment):
            targets = [step.yes, step.no]
        else:
            targets = [] if isinstance(step, Exit) else [scenario.after(step)]
        if depth < len(scenario.steps):  # a flow drawn with a loop is followed once round, not for ever
            paths += [(target, day, sent, depth + 1) for target in targets if target]
