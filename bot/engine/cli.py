"""Operator commands: `flask engine tick`, `flask why`, `flask scenarios list|show`."""

from __future__ import annotations

import json
from datetime import date, datetime

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from bot.engine.explain import entry_check, find_customer, trace_lines
from bot.engine.runner import tick
from bot.engine.simulation import simulate
from bot.i18n import text
from flows.catalog import SCENARIOS, find_scenario
from flows.dsl import ScenarioError
from models import utcnow


def _moment(at: str | None) -> datetime:
    if not at:
        return utcnow()
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        raise click.BadParameter(
            f"not an ISO time: {at!r} (e.g. 2026-06-13T10:00+09:00)", param_hint="--at"
        ) from None
    if moment.tzinfo is None:
        raise click.BadParameter("give the offset, e.g. +09:00 for Japan time", param_hint="--at")
    return moment


@click.group("engine", cls=AppGroup)
def engine_group() -> None:
    """The scenario engine."""


@engine_group.command("tick")
@click.option("--at", help="Evaluate as of this moment (ISO with offset); default now.")
def tick_command(at: str | None) -> None:
    """Enrol whoever the triggers bring in and advance every enrollment that is due."""
    runtime = current_app.extensions["runtime"]
    settings = runtime.settings
    report = tick(
        runtime.engine,
        SCENARIOS,
        _moment(at),
        filters=settings.scenario_filters,
        rules=settings.delivery_rules(),
    )
    click.echo(json.dumps(report.as_dict(), ensure_ascii=False))


@click.command("why")
@click.argument("customer")
@click.argument("scenario", required=False)
@click.option("--lang", type=click.Choice(["ja", "en"]), default="ja", show_default=True)
@click.option("--at", help="For the entry check: as of this moment (ISO with offset); default now.")
@with_appcontext
def why_command(customer: str, scenario: str | None, lang: str, at: str | None) -> None:
    """The explain trace of CUSTOMER (顧客ID or id), for one SCENARIO (id or number) or all."""
    engine = current_app.extensions["runtime"].engine
    try:
        chosen = find_scenario(scenario) if scenario else None
    except ScenarioError as exc:
        raise click.BadParameter(str(exc), param_hint="SCENARIO") from None
    with engine.connect() as connection:
        customer_id = find_customer(connection, customer)
        if customer_id is None:
            raise click.ClickException(text("trace.no_customer", lang, customer=customer))
        lines = trace_lines(connection, customer_id, chosen.id if chosen else None, lang)
        for line in lines:
            click.echo(line)
        if chosen and not lines:
            click.echo(text("trace.not_entered", lang, scenario=chosen.id))
            for condition, holds in entry_check(connection, chosen, customer_id, _moment(at)):
                mark = "✓" if holds else "✗"
                click.echo(
                    f"  {mark} {condition.fact} {condition.op} {condition.value if condition.value is not None else ''}"
                )


@click.group("scenarios", cls=AppGroup)
def scenarios_group() -> None:
    """The scenarios the service runs."""


@scenarios_group.command("list")
def list_command() -> None:
    """Every scenario with its trigger."""
    for scenario in sorted(SCENARIOS.values(), key=lambda s: s.number):
        click.echo(f"#{scenario.number:<3} {scenario.id:<24} {scenario.title}  [{scenario.trigger}]")


@scenarios_group.command("simulate")
@click.argument("scenario")
@click.option("--from", "first", required=True, help="First day (YYYY-MM-DD, Japan).")
@click.option("--to", "last", required=True, help="Last day (YYYY-MM-DD, Japan), included.")
@click.option("--every", default=30, show_default=True, help="Minutes between simulated ticks.")
def simulate_command(scenario: str, first: str, last: str, every: int) -> None:
    """Run SCENARIO over the current data on simulated days, print its timeline, and keep nothing."""
    try:
        chosen = find_scenario(scenario)
        start, end = date.fromisoformat(first), date.fromisoformat(last)
    except (ScenarioError, ValueError) as exc:
        raise click.BadParameter(str(exc)) from None
    if end < start or (end - start).days > 366 or not 1 <= every <= 1440:
        raise click.BadParameter(
            "--to must not be before --from, at most a year later; --every 1–1440 minutes"
        )
    runtime = current_app.extensions["runtime"]
    settings = runtime.settings
    filters = settings.scenario_filters.get(chosen.id, {})
    for line in simulate(runtime.engine, chosen, start, end, every, settings.delivery_rules(), filters):
        click.echo(line)


@scenarios_group.command("show")
@click.argument("scenario")
def show_command(scenario: str) -> None:
    """The steps of SCENARIO (id or number)."""
    try:
        chosen = find_scenario(scenario)
    except ScenarioError as exc:
        raise click.BadParameter(str(exc), param_hint="SCENARIO") from None
    click.echo(f"#{chosen.number} {chosen.title} ({chosen.id})")
    click.echo(f"  trigger: {chosen.trigger}")
    click.echo(f"  segment: {', '.join(f'{c.fact} {c.op} {c.value}' for c in chosen.segment) or '-'}")
    for node in chosen.steps:
        click.echo(f"  {node}")
