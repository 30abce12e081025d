"""The operator's scenario settings file: timings and optional filters per scenario, checked in full before
anything runs, with a message that names the scenario, the setting and what is expected."""

from __future__ import annotations

import pytest
import yaml
from pydantic import ValidationError

from bot.platform.config import load_settings
from bot.platform.scenario_config import current_settings, parse_config, read_config
from flows.catalog import MODULES, SCENARIOS, build_catalog
from flows.diagram import describe_trigger
from flows.dsl import OnDate, ScenarioError
from flows.engine import fires_at


def test_timings_rebuild_the_flow():
    """Setting the trigger hour and waits of #5 by number changes its trigger and waits, nothing else."""
    config = parse_config({5: {"timings": {"trigger_at": "09:30", "wait_days": 2, "days_before_visit": 6}}})
    scenario = config.catalog()["visit_reminder"]
    assert describe_trigger(scenario.trigger) == "reservation.visit_on の6日前 09:30"
    assert {step.id: step.days for step in scenario.steps if hasattr(step, "days")} == {
        "wait_a": 2,
        "wait_b": 2,
        "wait_c": 2,
    }
    assert config.catalog()["renewal_reminder"] is SCENARIOS["renewal_reminder"]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"99": {"timings": {}}}, "no scenario '99'"),
        ({5: {"timing": {}}}, "expected enabled, timings and/or filters"),
        ({5: {"enabled": "no"}}, "enabled must be true or false"),
        ({24: {"timings": {"delay_minutes": -5}}}, "delay_minutes: -5 is not a whole number of minutes"),
        ({5: {"timings": {"wait": 2}}}, "no setting wait"),
        ({5: {"timings": {"wait_days": "3"}}}, "wait_days: '3' is not a whole number of days"),
        ({5: {"timings": {"wait_days": True}}}, "wait_days: True is not a setting of this kind"),
        ({5: {"timings": {"trigger_at": "25:00"}}}, "trigger_at: not a time of day"),
        ({5: {"timings": {"wait_days": 4}}}, "2 × wait_days < days_before_visit"),
        ({5: {"filters": {"reservation.nope": "S01"}}}, "no optional filter reservation.nope"),
        ({5: {"timings": {"wait_days": 2}}, "visit_reminder": {"timings": {"wait_days": 1}}}, "set twice"),
        (["visit_reminder"], "expected a mapping"),
    ],
)
def test_a_wrong_setting_is_refused_with_what_is_wrong(document, message):
    """Unknown scenarios, settings and filters, wrong kinds and flows the values would break are errors."""
    with pytest.raises(ScenarioError, match=message):
        parse_config(document)


def test_the_file_is_read_at_start_and_a_bad_one_stops_it(tmp_path):
    """SCENARIO_SETTINGS_FILE is applied to the settings' catalogue and filters; a broken file stops the start."""
    path = tmp_path / "scenarios.yml"
    path.write_text(
        "visit_reminder:\n  timings: {wait_days: 2}\n  filters: {reservation.store_code: S01}\n", "utf-8"
    )
    settings = load_settings(scenario_settings_file=path)
    assert settings.scenarios["visit_reminder"].params["wait_days"] == 2
    assert settings.scenario_filters == {"visit_reminder": {"reservation.store_code": "S01"}}
    path.write_text("visit_reminder: [unclosed\n", "utf-8")
    with pytest.raises(ValidationError, match="not valid YAML"):
        load_settings(scenario_settings_file=path)
    with pytest.raises(ValueError, match="cannot read"):
        read_config(tmp_path / "missing.yml")


def test_the_printed_settings_are_a_valid_file_that_changes_nothing():
    """`flask scenarios settings` output, read back, gives the same catalogue (operators start from it)."""
    printed = current_settings(SCENARIOS, {"visit_reminder": {"reservation.store_code": "S01"}})
    config = parse_config(yaml.safe_load(printed))
    assert config.catalog() == SCENARIOS
    assert config.filters == {"visit_reminder": {"reservation.store_code": "S01"}}


def test_enabled_false_switches_a_scenario_off_and_shows_in_the_printed_settings():
    """`enabled: false` keeps the scenario in the catalogue (it is listed and shown) but marked off; every
    other scenario is unchanged, and the printed settings say so and read back the same."""
    config = parse_config(
        {"welcome_series": {"enabled": False, "timings": {"invite_days": 5}}, 1: {"enabled": True}}
    )
    catalog = config.catalog()
    assert catalog["welcome_series"].enabled is False and catalog["welcome_series"].params["invite_days"] == 5
    assert all(s.enabled for key, s in catalog.items() if key != "welcome_series")
    printed = yaml.safe_load(current_settings(catalog, {}))
    assert (
        printed["welcome_series"]["enabled"] is False and printed["doc_request_followup"]["enabled"] is True
    )
    assert parse_config(printed).catalog() == catalog


def test_every_module_builds_its_default_scenario_from_its_defaults():
    """build(DEFAULTS) is the module's SCENARIO, and every default is a valid setting of its kind."""
    for module in MODULES:
        assert module.build(module.DEFAULTS) == module.SCENARIO
    assert build_catalog({}) == SCENARIOS


def test_a_date_trigger_without_a_date_never_fires():
    """A campaign whose start date the operator has not set is not scheduled."""
    from datetime import date

    assert fires_at(OnDate(None, "10:00"), date(2026, 6, 1)) is None
    assert fires_at(OnDate("2026-06-01", "10:00"), date(2026, 6, 1)) is not None
    with pytest.raises(ScenarioError, match="not a date"):
        OnDate("2026-13-01", "10:00")


def test_the_weeks_and_weekday_of_a_calendar_trigger_are_settings():
    """#15 on the 2nd and 4th Monday instead of the 1st and 3rd Friday; a week 6 or weekday 7 is refused."""
    config = parse_config({15: {"timings": {"trigger_weeks": [4, 2], "trigger_weekday": 0}}})
    assert describe_trigger(config.catalog()["accessory_promotion"].trigger) == "第2・第4月曜日 10:00"
    with pytest.raises(ScenarioError, match="not a list of weeks"):
        parse_config({15: {"timings": {"trigger_weeks": [1, 6]}}})
    with pytest.raises(ScenarioError, match="not a weekday"):
        parse_config({15: {"timings": {"trigger_weekday": 7}}})
