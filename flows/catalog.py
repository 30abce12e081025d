"""Every scenario the service runs, by id and by the deck's number."""

from __future__ import annotations

from flows import doc_request_followup, renewal_reminder, visit_reminder
from flows.dsl import Scenario, ScenarioError

SCENARIOS: dict[str, Scenario] = {
    module.SCENARIO.id: module.SCENARIO for module in (doc_request_followup, visit_reminder, renewal_reminder)
}


def find_scenario(key: str | int) -> Scenario:
    """By id (`visit_reminder`) or number (5 or "5")."""
    text = str(key).strip().lstrip("#")
    for scenario in SCENARIOS.values():
        if text in (scenario.id, str(scenario.number)):
            return scenario
    known = ", ".join(f"#{s.number} {s.id}" for s in sorted(SCENARIOS.values(), key=lambda s: s.number))
    raise ScenarioError(f"no scenario {key!r}; known: {known}")
