"""Every scenario the service runs, by id and by number, built from the operator's settings: the insurer's
deck (#1–#23) and the welcome series after a friend-add (#24).

`SCENARIOS` holds the defaults.

When scenarios would send to one customer on one day, the daily cap lets the lowest `priority` through first
and holds the others to the next day. The order chosen: service notices about the customer's own booking or
contract (#5 5, #6 8, #14 10, #13 12, #10 15, #16 20), then the welcome of a friend who has just added the
account (#24 28), conversion follow-ups while interest is fresh (#1, #3, #7 30, #9 35, #2, #4, #8 40, #17 45),
channel growth (#21 50, #20 55, #22 60, #23 65), and cross-sell and promotions last (#11, #12 70, #15 80,
#18 85, #19 90). `build_catalog` applies an operator's settings file (timings, switched-off scenarios, optional
filters; see bot/platform/scenario_config.py) and checks that every scenario still makes sense.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace
from types import ModuleType

from flows import (
    accessory_promotion,
    app_promotion,
    benefit_reminder,
    churn_prevention,
    cross_sell_life,
    cross_sell_non_life,
    doc_request_followup,
    dormant_doc_request,
    dormant_quote,
    dormant_visitor,
    email_capture,
    line_friend_promotion,
    line_link_promotion,
    member_service,
    onboarding_after_contract,
    plan_up_at_renewal,
    quote_followup,
    rebooking_after_cancel,
    referral_campaign,
    renewal_reminder,
    site_browser_followup,
    visit_followup,
    visit_reminder,
    welcome_series,
)
from flows.dsl import Scenario, ScenarioError
from flows.params import merge

MODULES: tuple[ModuleType, ...] = (
    doc_request_followup,
    dormant_doc_request,
    quote_followup,
    dormant_quote,
    visit_reminder,
    rebooking_after_cancel,
    visit_followup,
    dormant_visitor,
    site_browser_followup,
    churn_prevention,
    cross_sell_life,
    cross_sell_non_life,
    onboarding_after_contract,
    renewal_reminder,
    accessory_promotion,
    plan_up_at_renewal,
    benefit_reminder,
    member_service,
    referral_campaign,
    email_capture,
    line_link_promotion,
    line_friend_promotion,
    app_promotion,
    welcome_series,
)

SCENARIOS: dict[str, Scenario] = {module.SCENARIO.id: module.SCENARIO for module in MODULES}


def build_catalog(
    timings: Mapping[str, Mapping[str, object]], switched_off: Collection[str] = ()
) -> dict[str, Scenario]:
    """The scenarios with the operator's timings ({scenario id: {setting: value}}) applied, and those the
    operator switched off (by id) marked so (`enabled` false)."""
    unknown = sorted((set(timings) | set(switched_off)) - set(SCENARIOS))
    if unknown:
        raise ScenarioError(f"no scenario {', '.join(unknown)}")
    built = {}
    for module in MODULES:
        scenario_id = module.SCENARIO.id
        overrides = timings.get(scenario_id)
        scenario = (
            module.build(merge(scenario_id, module.DEFAULTS, overrides)) if overrides else module.SCENARIO
        )
        built[scenario_id] = replace(scenario, enabled=False) if scenario_id in switched_off else scenario
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
