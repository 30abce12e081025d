"""`flask import KIND FILE`: load one of the insurer's data files (F1–F7)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from bot.imports.files import SPECS, find_spec
from bot.imports.reader import FileRejected
from bot.imports.runner import import_file
from bot.imports.staged import ImportCollided

KINDS_HELP = ", ".join(f"{spec.kind}={spec.title}" for spec in SPECS.values())


@click.command(
    "import", help=f"Import a data file (comma- or tab-separated). KIND: {KINDS_HELP} (or an English alias)."
)
@click.argument("kind")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--skip-invalid", is_flag=True, help="Import the good rows; write the bad ones to --rejects.")
@click.option(
    "--rejects", type=click.Path(dir_okay=False, path_type=Path), help="Where to write rejected rows."
)
@with_appcontext
def import_command(kind: str, path: Path, skip_invalid: bool, rejects: Path | None) -> None:
    try:
        spec = find_spec(kind)
    except KeyError as exc:
        raise click.BadParameter(str(exc.args[0]), param_hint="KIND") from None
    if skip_invalid and rejects is None:
        rejects = path.with_name(path.stem + ".rejects.csv")
    engine = current_app.extensions["runtime"].engine
    try:
        report = import_file(
            engine, spec, path, skip_invalid=skip_invalid, rejects_path=rejects, progress=sys.stderr.isatty()
        )
    except FileRejected as exc:
        raise click.ClickException(f"{path}: {exc}; nothing was written") from None
    except ImportCollided as exc:
        raise click.ClickException(f"{path}: {exc}; nothing was written, import it again") from None
    for line in report.lines():
        click.echo(line)
    plural = "" if report.rows == 1 else "s"
    rate = report.rows / max(report.seconds, 1e-9)
    click.echo(f"{report.rows:,} row{plural} in {report.seconds:.1f} s ({rate:,.0f} rows/s)")
    if not report.committed:
        raise SystemExit(1)
