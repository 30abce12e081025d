"""The numbers and texts of a scenario that operators may change without code (the deck's ※: "『セグメント』や
『トリガー』、『シナリオ』のタイミングは、変更することが可能です"): trigger offset and hour, waits, campaign and
coupon length, a campaign's start date, a page URL.

A scenario module declares its parameters with the deck's values as defaults (`DEFAULTS`) and builds its
`Scenario` from them (`build`). `merge` checks an operator's values against the defaults: a name the scenario
does not have, or a value of the wrong kind, is an error that says which and what is expected.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from flows.dsl import ScenarioError, check_clock


class Params(dict[str, object]):
    """A scenario's settings by name, with typed access for the module that builds the flow."""

    def days(self, name: str) -> int:
        return int(self[name])  # type: ignore[call-overload]

    def minutes(self, name: str) -> int:
        return int(self[name])  # type: ignore[call-overload]

    def text(self, name: str) -> str:
        return str(self[name])

    def weeks(self, name: str) -> tuple[int, ...]:
        return tuple(self[name])  # type: ignore[arg-type]

    def optional_text(self, name: str) -> str | None:
        value = self[name]
        return None if value is None else str(value)


def merge(scenario_id: str, defaults: Params, overrides: Mapping[str, object]) -> Params:
    """The defaults with the operator's overrides, each checked against the kind of its default."""
    unknown = sorted(set(overrides) - set(defaults))
    if unknown:
        raise ScenarioError(
            f"scenario {scenario_id}: no setting {', '.join(unknown)} (settings: {', '.join(defaults)})"
        )
    merged = Params(defaults)
    for name, value in overrides.items():
        merged[name] = _checked(scenario_id, name, defaults[name], value)
    return merged


def _checked(scenario_id: str, name: str, default: object, value: object) -> object:
    where = f"scenario {scenario_id}: {name}"
    if isinstance(default, bool) or isinstance(value, bool):
        raise ScenarioError(f"{where}: {value!r} is not a setting of this kind")
    if isinstance(default, tuple):  # weeks of the month (第1・第3): a list of 1–5
        if not isinstance(value, list | tuple) or not value or not all(_week(item) for item in value):
            raise ScenarioError(f"{where}: {value!r} is not a list of weeks of the month (1–5), e.g. [1, 3]")
        return tuple(sorted(set(value)))
    if isinstance(default, int):
        unit = "minutes" if name.endswith("_minutes") else "days"
        if not isinstance(value, int) or value < 0:
            raise ScenarioError(f"{where}: {value!r} is not a whole number of {unit} (0 or more)")
        if name.endswith("_weekday") and value > 6:
            raise ScenarioError(f"{where}: {value!r} is not a weekday (0 Monday … 6 Sunday)")
        return value
    if name.endswith("_at"):
        if not isinstance(value, str):
            raise ScenarioError(f"{where}: {value!r} is not a time of day (HH:MM, Japan time)")
        try:
            check_clock(value)
        except ScenarioError as exc:
            raise ScenarioError(f"{where}: {exc}") from None
        return value
    if name.endswith("_on"):
        if value is None:
            return None
        try:
            return date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise ScenarioError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from None
    if not isinstance(value, str) or not value.strip():
        raise ScenarioError(f"{where}: {value!r} must be a non-empty text")
    return value.strip()


def _week(item: object) -> bool:
    return isinstance(item, int) and not isinstance(item, bool) and 1 <= item <= 5


def require(condition: bool, scenario_id: str, message: str) -> None:
    """A relation between settings that the flow needs (a reminder must come after the re-send …)."""
    if not condition:
        raise ScenarioError(f"scenario {scenario_id}: {message}")
