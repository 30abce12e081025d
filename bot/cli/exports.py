"""`flask export KIND --since DAY`: the records of one kind changed since a day, as a CSV file for the insurer's
CRM or a spreadsheet (bot/exports). Each run, written or refused, is audited in `admin_audit` (place "cli"): the
file holds customers' records."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from bot.exports.csvfile import ENCODINGS, ExportRefused, parse_day, write_export
from bot.exports.kinds import KINDS
from bot.staff.admin import CLI, audit, operator
from models import utcnow

KINDS_HELP = "; ".join(f"{kind.name}: {kind.title}" for kind in KINDS.values())


@click.command("export", help=f"Write the records of KIND changed since --since as CSV. KIND: {KINDS_HELP}.")
@click.argument("kind", type=click.Choice(list(KINDS)))
@click.option("--since", "since_text", required=True, help="The first day (Japan time), e.g. 2026-12-01.")
@click.option(
    "--encoding",
    type=click.Choice(list(ENCODINGS)),
    default="utf-8",
    show_default=True,
    help="utf-8 (with BOM: Excel reads it as it is) or cp932 for older systems.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write it (mode 0600; default KIND-since-DAY.csv here).",
)
@click.option("--by", help="Who runs it, for the audit (default: the shell's login).")
@with_appcontext
def export_command(kind: str, since_text: str, encoding: str, out: Path | None, by: str | None) -> None:
    runtime = current_app.extensions["runtime"]
    try:
        since = parse_day(since_text)
    except ExportRefused as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    path = out or Path(f"{kind}-since-{since.isoformat()}.csv")
    arguments = f"{kind} since {since.isoformat()} {encoding}"
    refusal: str | None = None
    try:
        with runtime.engine.connect() as connection:
            report = write_export(connection, KINDS[kind], since, path, encoding)
    except ExportRefused as exc:
        refusal = str(exc)
    with runtime.engine.begin() as connection:
        audit(
            connection,
            operator(by),
            CLI,
            "export-data",
            arguments,
            "refused" if refusal else "done",
            at=utcnow(),
            detail=refusal[:200] if refusal else f"{report.rows} rows",
            personal_data=refusal is None and report.rows > 0,
        )
    if refusal:
        raise click.ClickException(refusal)
    plural = "" if report.rows == 1 else "s"
    click.echo(
        f"{report.rows:,} {kind} row{plural} changed since {since.isoformat()} written to {path} ({encoding})"
    )
