"""`flask richmenu sync | show`: the rich menus LINE holds for each customer state and language."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from bot.chat.richmenus import FontMissing, MenuState, draw, font_path, state_of, sync
from bot.delivery.channels.line_menus import ApiException, RichMenuApi
from bot.platform.runtime import Runtime

richmenu_group = AppGroup(
    "richmenu", help="LINE rich menus per customer state (prospect, policyholder, hand-over)."
)


def _runtime() -> Runtime:
    return current_app.extensions["runtime"]


@richmenu_group.command("sync")
def sync_command() -> None:
    """Create the menus that changed (images drawn now from the locale texts), set the default, move users of
    replaced menus and delete the old ones. Running it again changes nothing."""
    runtime = _runtime()
    api = RichMenuApi(runtime.settings)
    try:
        with runtime.engine.begin() as connection:
            report = sync(connection, api, runtime.settings)
    except FontMissing as exc:
        raise click.ClickException(str(exc)) from None
    except ApiException as exc:
        raise click.ClickException(f"LINE refused the rich menu call: HTTP {exc.status} {exc.body}") from None
    finally:
        api.close()
    for line in report.lines():
        click.echo(line)


@richmenu_group.command("image")
@click.argument("state", type=click.Choice([s.value for s in MenuState]))
@click.option("--lang", "locale", default="ja", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="where to write the PNG")
def image_command(state: str, locale: str, out: str) -> None:
    """Draw one menu's image to a file, to look at before a sync."""
    try:
        png = draw(MenuState(state), locale, font_path(_runtime().settings))
    except FontMissing as exc:
        raise click.ClickException(str(exc)) from None
    with open(out, "wb") as handle:
        handle.write(png)
    click.echo(f"{out}: {len(png):,} bytes")


@richmenu_group.command("state")
@click.argument("line_user_id")
def state_command(line_user_id: str) -> None:
    """Which menu a LINE user should see now."""
    with _runtime().engine.connect() as connection:
        click.echo(state_of(connection, line_user_id))
