"""Operator commands: `flask engine tick`, `flask why`, `flask scenarios list|show`."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from bot.cli.customers import audited, not_one
from bot.platform.i18n import text
from bot.platform.scenario_config import current_settings
from bot.scenarios.controls import in_progress, paused_scenarios, set_paused
from bot.scenarios.describe import list_lines, scenario_lines
from bot.scenarios.explain import entry_lines, trace_lines
from bot.scenarios.runner import tick
from bot.scenarios.simulation import simulate
from bot.staff.admin import CLI, audit, operator, pseudonym
from bot.staff.finder import find_customers
from flows.catalog import find_scenario
from flows.diagram import mermaid
from flows.dsl import Scenario, ScenarioError
from models import utcnow

LANGUAGE = click.option(
    "--lang", type=click.Choice(["ja", "en"]), default="ja", show_default=True, help="Japanese or English."
)


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
        settings.scenarios,
        _moment(at),
        filters=settings.scenario_filters,
        rules=settings.delivery_rules(),
    )
    click.echo(json.dumps(report.as_dict(), ensure_ascii=False))


@click.command("why")
@click.argument("customer")
@click.argument("scenario", required=False)
@LANGUAGE
@click.option("--at", help="For the entry check: as of this moment (ISO with offset); default now.")
@click.option("--by", help="Who looks, for the audit (default: the shell's login).")
@with_appcontext
def why_command(customer: str, scenario: str | None, lang: str, at: str | None, by: str | None) -> None:
    """The explain trace of CUSTOMER (顧客ID, email address, phone number, LINE user id or internal id), for one
    SCENARIO (id or number) or all; audited as a personal-data access, like /why in the admin chat."""
    runtime = current_app.extensions["runtime"]
    try:
        chosen = find_scenario(scenario, _catalog()) if scenario else None
    except ScenarioError as exc:
        raise click.BadParameter(str(exc), param_hint="SCENARIO") from None
    with runtime.engine.begin() as connection:  # the audit row commits before anything is shown
        found = find_customers(connection, customer)
        refusal = not_one(connection, customer, found, lang)
        arguments = " ".join([pseudonym(runtime.settings, customer), *([scenario] if scenario else [])])
        audit(connection, operator(by), CLI, "why", arguments, at=utcnow(), **audited(found))
    if refusal is not None:
        raise click.ClickException(refusal)
    with runtime.engine.connect() as connection:
        lines = trace_lines(connection, found[0], chosen.id if chosen else None, lang)
        if chosen and not lines:
            lines = [text("trace.not_entered", lang, scenario=chosen.id)]
            lines += [f"  {line}" for line in entry_lines(connection, chosen, found[0], _moment(at), lang)]
    for line in lines:
        click.echo(line)


@click.group("scenarios", cls=AppGroup)
def scenarios_group() -> None:
    """The scenarios the service runs."""


def _catalog() -> dict[str, Scenario]:
    return current_app.extensions["runtime"].settings.scenarios


def _chosen(key: str) -> Scenario:
    try:
        return find_scenario(key, _catalog())
    except ScenarioError as exc:
        raise click.BadParameter(str(exc), param_hint="SCENARIO") from None


@scenarios_group.command("list")
@LANGUAGE
def list_command(lang: str) -> None:
    """Every scenario as a table: number, name, when it starts, steps and sends, state, enrollments in progress."""
    with current_app.extensions["runtime"].engine.connect() as connection:
        paused = paused_scenarios(connection)
        running = in_progress(connection)
    for line in list_lines(_catalog().values(), lang, paused, running):
        click.echo(line)


@scenarios_group.command("pause")
@click.argument("scenario")
@click.option("--by", help="Who paused it (a staff id, for the record).")
def pause_command(scenario: str, by: str | None) -> None:
    """Pause SCENARIO: nobody enters, nothing is sent; queued messages wait."""
    _switch(_chosen(scenario), True, by)


@scenarios_group.command("resume")
@click.argument("scenario")
@click.option("--by", help="Who resumed it (a staff id, for the record).")
def resume_command(scenario: str, by: str | None) -> None:
    """Resume SCENARIO where it stopped."""
    _switch(_chosen(scenario), False, by)


def _switch(scenario: Scenario, paused: bool, by: str | None) -> None:
    with current_app.extensions["runtime"].engine.begin() as connection:
        moved = set_paused(connection, scenario.id, paused, by)
    verb = "paused" if paused else "resumed"
    what = "parked" if paused else "put back in the queue"
    click.echo(f"#{scenario.number} {scenario.id} {verb}; {moved} queued messages {what}")


@scenarios_group.command("settings")
def settings_command() -> None:
    """Every scenario's timings and filters now, as YAML for SCENARIO_SETTINGS_FILE."""
    settings = current_app.extensions["runtime"].settings
    click.echo(current_settings(settings.scenarios, settings.scenario_filters), nl=False)


@scenarios_group.command("simulate")
@click.argument("scenario")
@click.option("--from", "first", required=True, help="First day (YYYY-MM-DD, Japan).")
@click.option("--to", "last", required=True, help="Last day (YYYY-MM-DD, Japan), included.")
@click.option("--every", default=30, show_default=True, help="Minutes between simulated ticks.")
def simulate_command(scenario: str, first: str, last: str, every: int) -> None:
    """Run SCENARIO over the current data on simulated days, print its timeline, and keep nothing."""
    try:
        chosen = find_scenario(scenario, _catalog())
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
@LANGUAGE
@click.option(
    "--mermaid", "diagram", type=click.Path(dir_okay=False), help="Also write a Mermaid diagram here."
)
def show_command(scenario: str, lang: str, diagram: str | None) -> None:
    """SCENARIO (number or id) as it will run: when it starts, who enters, every step with its day, channels and
    message text, and the settings an operator changed."""
    chosen = _chosen(scenario)
    runtime = current_app.extensions["runtime"]
    with runtime.engine.connect() as connection:
        paused = chosen.id in paused_scenarios(connection)
        running = in_progress(connection).get(chosen.id, 0)
    lines = scenario_lines(
        chosen,
        lang,
        paused=paused,
        in_progress=running,
        filters=runtime.settings.scenario_filters.get(chosen.id, {}),
        link_targets=runtime.settings.link_targets,
    )
    for line in lines:
        click.echo(line)
    if diagram:
        Path(diagram).write_text(mermaid(chosen), encoding="utf-8")
        click.echo(text("scenario_view.show.diagram", lang, path=diagram))
