"""Admin commands about the scenarios: the list, one scenario's state and today's figures, pause and resume;
and /help, generated from the registry the app or worker built."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import func, select

from bot.scenarios.controls import in_progress, paused_scenarios, set_paused
from flows.catalog import find_scenario
from flows.diagram import describe_trigger
from flows.dsl import Scenario, ScenarioError
from flows.engine import TOKYO, japan_day
from handlers.admin import AdminListeners, Call, Usage, say, summary_line, usage_line
from models import Delivery, Enrollment

admin = AdminListeners()
ENROLLMENTS = Enrollment.__table__
DELIVERIES = Delivery.__table__


@admin.command("help", "ヘルプ")
def show_help(call: Call, ctx) -> None:
    """/help: every command with one line; /help CMD: its usage."""
    registry = ctx.handlers.admin
    if call.args:
        entry = registry.commands.get(call.args[0].lstrip("/").lower())
        if entry is None:
            raise Usage
        say(call, ctx, "help_one", usage=usage_line(entry))
        return
    lines = [
        f"/{entry.name}（{'・'.join(entry.aliases)}）: {summary_line(entry)}"
        for entry in registry.order
        if call.staff.may(entry.role)
    ]
    say(call, ctx, "help", commands="\n".join(lines))


def chosen(call: Call, ctx) -> Scenario:
    if len(call.args) != 1:
        raise Usage
    try:
        return find_scenario(call.args[0], ctx.settings.scenarios)
    except ScenarioError:
        raise Usage from None


@admin.command("scenarios", "シナリオ一覧")
def list_scenarios(call: Call, ctx) -> None:
    if call.args:
        raise Usage
    connection = ctx.session.connection()
    paused = paused_scenarios(connection)
    running = in_progress(connection)
    lines = [
        f"#{s.number} {s.title}（{'停止中' if s.id in paused else '稼働中'}・進行中 {running.get(s.id, 0)}）"
        for s in ctx.settings.scenarios.values()
    ]
    say(call, ctx, "scenario_list", scenarios="\n".join(lines))


@admin.command("scenario", "シナリオ")
def show_scenario(call: Call, ctx) -> None:
    scenario = chosen(call, ctx)
    connection = ctx.session.connection()
    start = datetime.combine(japan_day(ctx.now), time(0), TOKYO)
    entered = connection.execute(
        select(func.count()).where(
            ENROLLMENTS.c.scenario_id == scenario.id, ENROLLMENTS.c.entered_at >= start
        )
    ).scalar_one()
    sent = dict(
        connection.execute(
            select(DELIVERIES.c.channel, func.count())
            .join(ENROLLMENTS, ENROLLMENTS.c.id == DELIVERIES.c.enrollment_id)
            .where(ENROLLMENTS.c.scenario_id == scenario.id, DELIVERIES.c.sent_at >= start)
            .group_by(DELIVERIES.c.channel)
        ).all()
    )
    by_channel = "、".join(f"{channel} {count}" for channel, count in sorted(sent.items())) or "なし"
    state = "停止中" if scenario.id in paused_scenarios(connection) else "稼働中"
    say(
        call,
        ctx,
        "scenario_detail",
        number=scenario.number,
        title=scenario.title,
        state=state,
        trigger=describe_trigger(scenario.trigger),
        active=in_progress(connection).get(scenario.id, 0),
        entered=entered,
        sent=by_channel,
    )


@admin.command("pause", "停止")
def pause(call: Call, ctx) -> None:
    _switch(call, ctx, paused=True)


@admin.command("resume", "再開")
def resume(call: Call, ctx) -> None:
    _switch(call, ctx, paused=False)


def _switch(call: Call, ctx, paused: bool) -> None:
    scenario = chosen(call, ctx)
    moved = set_paused(ctx.session.connection(), scenario.id, paused, call.staff.actor)
    call.detail = f"{scenario.id}: {moved} messages {'parked' if paused else 'put back'}"
    say(
        call,
        ctx,
        "paused" if paused else "resumed",
        number=scenario.number,
        title=scenario.title,
        moved=moved,
    )
