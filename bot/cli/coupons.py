"""Staff commands for coupons: `flask coupons create | list | issue | redeem | revoke`.

A coupon issued here is also sent to the customer in LINE (when they are on LINE) at the next tick.
"""

from __future__ import annotations

from datetime import datetime

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from bot.cli.customers import not_one
from bot.customers.language import customer_locale
from bot.delivery.outbox import queue_message
from bot.offers.coupons import (
    CAMPAIGNS,
    COUPONS,
    IssueOutcome,
    RedeemOutcome,
    coupon_fields,
    create_campaign,
    display_code,
    issue,
    last_day,
    redeem,
    revoke,
)
from bot.platform.runtime import Runtime
from bot.staff.finder import find_customers
from models import Customer, CustomerChannels, utcnow

CUSTOMERS = Customer.__table__
CHANNELS = CustomerChannels.__table__
REFUSED = {
    RedeemOutcome.UNKNOWN: "no such coupon",
    RedeemOutcome.USED: "already used",
    RedeemOutcome.EXPIRED: "expired",
    RedeemOutcome.REVOKED: "revoked",
}


@click.group("coupons", cls=AppGroup)
def coupons_group() -> None:
    """Coupon campaigns and the coupons issued to customers."""


def _runtime() -> Runtime:
    return current_app.extensions["runtime"]


def _moment(at: str | None) -> datetime:
    moment = datetime.fromisoformat(at) if at else utcnow()
    if moment.tzinfo is None:
        raise click.BadParameter("give a time zone, e.g. 2026-07-01T10:00:00+09:00", param_hint="--at")
    return moment


@coupons_group.command("create")
@click.argument("code")
@click.option("--title", required=True, help="Shown on the coupon (at most 60 characters).")
@click.option("--benefit", required=True, help="What it gives, e.g. ギフト券1,000円分.")
@click.option("--valid-days", default=7, show_default=True, type=click.IntRange(1, 3650))
@click.option("--per-customer", default=1, show_default=True, type=click.IntRange(1, 100))
@click.option("--cap", default=None, type=click.IntRange(1), help="Coupons for all customers together.")
@click.option("--line-coupon-id", default=None, help="LINE's coupon (coupon API): sent instead of ours.")
def create(
    code: str,
    title: str,
    benefit: str,
    valid_days: int,
    per_customer: int,
    cap: int | None,
    line_coupon_id: str | None,
) -> None:
    """Create the campaign CODE (campaigns are not edited: create another one)."""
    if not 1 <= len(code) <= 64 or len(title) > 60 or not title.strip() or not benefit.strip():
        raise click.BadParameter("CODE 1–64 characters, a title of 1–60 characters and a benefit are needed")
    values = {
        "title": title.strip(),
        "benefit": benefit.strip(),
        "valid_days": valid_days,
        "per_customer_limit": per_customer,
        "total_cap": cap,
        "line_coupon_id": line_coupon_id,
    }
    with _runtime().engine.begin() as connection:
        created = create_campaign(connection, code, utcnow(), **values)
    if not created:
        raise click.ClickException(f"campaign {code} exists already")
    click.echo(f"campaign {code} created")


@coupons_group.command("list")
def list_campaigns() -> None:
    """Every campaign with its coupons issued and redeemed."""
    counts = select(COUPONS.c.campaign_code, COUPONS.c.status, func.count()).group_by(
        COUPONS.c.campaign_code, COUPONS.c.status
    )
    with _runtime().engine.connect() as connection:
        campaigns = connection.execute(select(CAMPAIGNS).order_by(CAMPAIGNS.c.code)).all()
        tally: dict[str, dict[str, int]] = {}
        for campaign_code, status, count in connection.execute(counts):
            tally.setdefault(campaign_code, {})[status] = count
    for c in campaigns:
        seen = tally.get(c.code, {})
        cap = "no cap" if c.total_cap is None else f"cap {c.total_cap}"
        click.echo(
            f"{c.code}  {c.title}  {c.valid_days} days, {c.per_customer_limit} per customer, {cap}: "
            f"issued {sum(seen.values())}, redeemed {seen.get('redeemed', 0)}, revoked {seen.get('revoked', 0)}"
        )


@coupons_group.command("issue")
@click.argument("campaign")
@click.argument("customer")
@click.option("--at", "at", default=None, help="ISO time with zone (default: now)")
def issue_coupon(campaign: str, customer: str, at: str | None) -> None:
    """Issue a coupon of CAMPAIGN to CUSTOMER (顧客ID, email address, phone number, LINE user id, or internal id
    as id:42) and send it in LINE."""
    now = _moment(at)
    runtime = _runtime()
    with runtime.engine.begin() as connection:
        found = find_customers(connection, customer)
        refusal = not_one(connection, customer, found)
        if refusal is not None:
            raise click.ClickException(refusal)
        customer_id = found[0]
        issued = issue(connection, campaign, customer_id, now)
        if issued.outcome is IssueOutcome.ISSUED:
            on_line = connection.execute(
                select(CHANNELS.c.line_user_id).where(CHANNELS.c.customer_id == customer_id)
            ).scalar()
            if on_line:
                locale = customer_locale(connection, customer_id, runtime.settings.default_locale)
                fields = coupon_fields(issued.coupon, locale)
                step = f"coupon:{issued.coupon.id}:issued"
                queue_message(connection, customer_id, "chat_coupon.issued", step, now, **fields)
    if issued.outcome is IssueOutcome.NO_CAMPAIGN:
        raise click.ClickException(f"no campaign {campaign}")
    if issued.outcome is IssueOutcome.CAP_REACHED:
        raise click.ClickException(f"campaign {campaign} has reached its cap")
    coupon = issued.coupon
    state = "issued" if issued.outcome is IssueOutcome.ISSUED else "already held"
    until = last_day(coupon.expires_at)
    click.echo(f"{display_code(coupon.code)} {state}, valid until {until:%Y-%m-%d}")


@coupons_group.command("redeem")
@click.argument("code")
@click.option("--at", "at", default=None, help="ISO time with zone (default: now)")
def redeem_coupon(code: str, at: str | None) -> None:
    """Use the coupon CODE at the counter (once)."""
    with _runtime().engine.begin() as connection:
        used = redeem(connection, code, "staff", _moment(at))
    if used.outcome is not RedeemOutcome.REDEEMED:
        raise click.ClickException(f"{code}: {REFUSED[used.outcome]}, not redeemed")
    click.echo(f"{display_code(used.coupon.code)} redeemed ({used.coupon.title})")


@coupons_group.command("revoke")
@click.argument("code")
def revoke_coupon(code: str) -> None:
    """Withdraw the unused coupon CODE."""
    with _runtime().engine.begin() as connection:
        done = revoke(connection, code, utcnow())
    if done.outcome is not RedeemOutcome.REVOKED_NOW:
        raise click.ClickException(f"{code}: {REFUSED[done.outcome]}, not revoked")
    click.echo(f"{display_code(done.coupon.code)} revoked")
