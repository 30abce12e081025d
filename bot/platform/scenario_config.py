"""The operator's scenario settings file (SCENARIO_SETTINGS_FILE, YAML): per scenario, whether it runs, its
timings and its optional filters, without code changes. `flask scenarios settings` prints every setting with
its current value as a starting point.

    # scenarios.yml
    visit_reminder:            # or the deck's number: "5"
      timings:
        days_before_visit: 5
        trigger_at: "09:30"
      filters:
        reservation.store_code: S01
    welcome_series:
      enabled: false           # switched off: nobody enters and nothing of it moves (true, the default, runs it)

The file is read once when a process starts and checked in full: an unknown scenario, setting or filter, or a
value of the wrong kind, stops the start with a message that names it. Pausing a scenario is not here: staff
pause and resume at any time (`flask scenarios pause N`), and that lives in the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.platform.i18n import load_yaml
from flows.catalog import SCENARIOS, build_catalog, find_scenario
from flows.dsl import Scenario, ScenarioError, filter_conditions

SECTIONS = ("timings", "filters")
SWITCH = "enabled"


@dataclass(frozen=True)
class ScenarioConfig:
    timings: dict[str, dict[str, object]] = field(default_factory=dict)
    filters: dict[str, dict[str, object]] = field(default_factory=dict)
    switched_off: set[str] = field(default_factory=set)

    def catalog(self) -> dict[str, Scenario]:
        return build_catalog(self.timings, self.switched_off)


def read_config(path: Path) -> ScenarioConfig:
    """Parse and check the settings file; ValueError names the file and what is wrong."""
    try:
        document = load_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{path}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML ({exc})") from None
    try:
        return parse_config(document or {})
    except ScenarioError as exc:
        raise ValueError(f"{path}: {exc}") from None


def parse_config(document: Any) -> ScenarioConfig:
    if not isinstance(document, dict):
        raise ScenarioError("expected a mapping of scenario (id or number) to its settings")
    config = ScenarioConfig()
    seen: set[str] = set()
    for key, sections in document.items():
        scenario = find_scenario(key)
        if scenario.id in seen:
            raise ScenarioError(f"scenario {scenario.id} is set twice (by id and by number?)")
        seen.add(scenario.id)
        if not isinstance(sections, dict) or set(sections) - {SWITCH, *SECTIONS}:
            raise ScenarioError(f"scenario {scenario.id}: expected {SWITCH}, {' and/or '.join(SECTIONS)}")
        switch = sections.get(SWITCH, True)
        if not isinstance(switch, bool):
            raise ScenarioError(f"scenario {scenario.id}: {SWITCH} must be true or false, not {switch!r}")
        if not switch:
            config.switched_off.add(scenario.id)
        for section in SECTIONS:
            value = sections.get(section) or {}
            if not isinstance(value, dict):
                raise ScenarioError(f"scenario {scenario.id}: {section} must be a mapping of name to value")
            if value:
                getattr(config, section)[scenario.id] = value
    built = config.catalog()  # raises for a setting the scenario lacks or a flow the values would break
    for scenario_id, filters in config.filters.items():
        filter_conditions(built[scenario_id], filters)
    return config


def current_settings(catalog: dict[str, Scenario], filters: dict[str, dict[str, object]]) -> str:
    """Every scenario's settings with their values now, as YAML an operator can copy into the file."""
    document = {}
    for scenario in catalog.values():
        entry: dict[str, object] = {SWITCH: scenario.enabled, "timings": dict(scenario.params)}
        if filters.get(scenario.id):
            entry["filters"] = dict(filters[scenario.id])
        document[scenario.id] = entry
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


__all__ = ["SCENARIOS", "ScenarioConfig", "current_settings", "parse_config", "read_config"]
