"""Every scenario the service runs, by id and by the deck's number, built from the operator's settings.

`SCENARIOS` holds the deck's defaults. `build_catalog` applies an operator's settings file (timings, optional
filters; see bot/scenario_config.py) and checks that every scenario still makes sense.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType

from flows import (
    benefit_reminder,
    churn_prevention,
    doc_request_followup,
    line_link_promotion,
    renewal_reminder,
    site_browser_followup,
    visit_reminder,
)
from flows.dsl import Scenario, ScenarioError
from flows.params import merge

MODULES: tuple[ModuleType, ...] = (
    doc_request_followup,
    visit_reminder,
    site_browser_followup,
    churn_prevention,
    renewal_reminder,
    benefit_reminder,
    line_link_promotion,
)

SCENARIOS: dict[str, Scenario] = {module.SCENARIO.id: module.SCENARIO for module in MODULES}


def build_catalog(timings: Mapping[str, Mapping[str, object]]) -> dict[str, Scenario]:
    """The scenarios with the operator's timings ({scenario id: {setting: value}}) applied."""
    unknown = sorted(set(timings) - set(SCENARIOS))
    if unknown:
        raise ScenarioError(f"no scenario {', '.join(unknown)}")
    built = {}
    for module in MODULES:
        scenario_id = module.SCENARIO.id
        overrides = timings.get(scenario_id)
        built[scenario_id] = (
            module.build(merge(scenario_id, module.DEFAULTS, overrides)) if overrides else module.SCENARIO
        )
    return dict(sorted(built.items(), key=lambda item: item[1].number))


def find_scenario(key: str | int, scenarios: Mapping[str, Scenario] | None = None) -> Scenario:
    """By id (`visit_reminder`) or number (5 or "5")."""
    chosen = SCENARIOS if scenarios is None else scenarios
    text = str(key).strip().lstrip("#")
    for scenario in chosen.values():
        if text in (scenario.id, str(scenario.number)):
            return scenario
    known = ", ".join(f"#{s.number} {s.id}" for s in sorted(chosen.values(), key=lambda s: s.number))
    raise ScenarioError(f"no scenario {key!r}; known: {known}")
