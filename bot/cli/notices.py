"""`flask notices send TEMPLATE FILE`: a service notice (書類の再提出依頼, 保険料の未払い, 事故対応の状況, アンケート,
契約内容のお知らせ) to the customers of a list, with each row's own values (bot/notices). Always a dry run first;
`--confirm` writes it (the same file again: nothing), `flask notices result ID` writes what became of each row.
Each confirmation is audited in `admin_audit` (place "cli")."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from bot.notices.lists import FIELDS, ListRefused, read_list, template_fields, templates
from bot.notices.sending import LADDER, NoticeRefused, confirm, existing, plan, write_result
from bot.staff.admin import CLI, audit, operator
from models import utcnow


@click.group("notices", cls=AppGroup)
def notices_group() -> None:
    """Service notices to a list of customers (CSV)."""


@notices_group.command("templates")
def templates_command() -> None:
    """The notice templates and the columns each list needs (besides 顧客ID, 電話番号 or メールアドレス)."""
    for name in templates():
        click.echo(f"{name}: " + ", ".join(FIELDS[field].ja for field in template_fields(name)))


@notices_group.command("send")
@click.argument("template")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--channels", default=LADDER, show_default=True, help="The ladder, or only:sms / only:email …")
@click.option("--confirm", "confirmed", is_flag=True, help="Write it (without: the dry run only).")
@click.option("--skip-invalid", is_flag=True, help="Send the good rows when some are not valid.")
@click.option("--approved-by", help="The second staff member, above BROADCAST_APPROVAL_THRESHOLD recipients.")
@click.option("--by", help="Who sends it, for the audit (default: the shell's login).")
def send_command(
    template: str,
    path: Path,
    channels: str,
    confirmed: bool,
    skip_invalid: bool,
    approved_by: str | None,
    by: str | None,
) -> None:
    runtime, now = current_app.extensions["runtime"], utcnow()
    try:
        with runtime.engine.connect() as connection:
            notice = read_list(connection, template, path)
            sent_before = existing(connection, notice)
            planned = plan(connection, runtime.settings, notice, channels, now)
    except (ListRefused, ValueError) as exc:
        raise click.ClickException(f"{path}: {exc}; nothing was written") from None
    if sent_before is not None:
        click.echo(f"this file was sent already as notice {sent_before.id}: nothing to do")
        return
    _show(planned.figures.as_dict())
    if not confirmed:
        click.echo("dry run: nothing was written (add --confirm to send)")
        return
    actor = operator(by)
    try:
        with runtime.engine.begin() as connection:
            notice_id, written = confirm(
                connection, runtime.settings, notice, channels, now, actor, approved_by, skip_invalid
            )
            audit(connection, actor, CLI, "notice", f"{template} {path.name}", "done", at=now,
                  detail=f"notice {notice_id}: {written} rows", personal_data=False)  # fmt: skip
    except NoticeRefused as exc:
        raise click.ClickException(f"{exc}; nothing was written") from None
    click.echo(
        f"notice {notice_id}: {written} messages queued; `flask notices result {notice_id}` tells each row's fate"
    )


@notices_group.command("result")
@click.argument("notice_id", type=int)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Default: notice-ID-result.csv here."
)
def result_command(notice_id: int, out: Path | None) -> None:
    """One row per line of the list: sent, delivered, queued, failed (why) or not sent (why)."""
    path = out or Path(f"notice-{notice_id}-result.csv")
    with current_app.extensions["runtime"].engine.connect() as connection:
        tally = write_result(connection, notice_id, path)
    click.echo(f"{path}: " + ", ".join(f"{count} {status}" for status, count in sorted(tally.items())))


def _show(figures: dict) -> None:
    click.echo(
        f"rows {figures['rows']}: matched {figures['matched']}, not matched {figures['rows'] - figures['matched']}"
    )
    for reason, count in figures["unmatched"].items():
        click.echo(f"  not matched, {reason}: {count}")
    click.echo(
        f"recipients {figures['recipients']}: "
        + ", ".join(f"{c} {n}" for c, n in figures["channels"].items())
    )
    for reason, count in figures["unreachable"].items():
        click.echo(f"  no channel of the ladder, {reason}: {count}")
    yen = (
        "price unknown (set SMS_NEGOTIATED_PRICE_YEN)"
        if figures["sms_yen"] is None
        else f"{figures['sms_yen']:,.0f} yen"
    )
    click.echo(
        f"SMS: {figures['sms_segments']} segments, {yen}; over 660 characters: {figures['sms_too_long']}"
    )
    click.echo(f"held by quiet hours: {figures['held_quiet_hours']} (sent from {figures['due_at']})")
