"""Admin look-ups: each scenario's funnel (/stats) and a customer's explain trace (/why); and what the desk
commands share with them: the one customer staff mean (bot.staff.finder: by 顧客ID, email, phone, LINE user id or
internal id; several are listed to choose from, never one picked), how personal data is masked for staff, and how a
long answer is cut to one LINE message.

/why is a personal-data access (APPI): once the look-up has run, its audit row says so, with the customer's id in
the detail; the key typed is kept in the audit's arguments as a keyed hash only (`audit_term`). Masking shows the family
name's first character (山＊ ＊＊＊), a phone's first three and last four digits (090-****-5678) and an email's
first character and domain (t***@example.jp).
"""

from __future__ import annotations

import re

from sqlalchemy import Connection, select

from bot.delivery.content import LINE_TEXT_LIMIT
from bot.delivery.notices import STAFF_LOCALE
from bot.platform.i18n import text
from bot.scenarios.explain import entry_lines, trace_lines
from bot.staff.admin import about, pseudonym
from bot.staff.dashboard import Funnel, funnels  # the dashboard's funnel chart shows the same figures
from bot.staff.desk import customer_ref
from bot.staff.finder import MATCHES_SHOWN, find_customers, outcome
from flows.catalog import find_scenario
from flows.dsl import Scenario, ScenarioError
from handlers.admin import AdminListeners, Answered, Call, Usage, say
from models import Customer, CustomerChannels, Enrollment

admin = AdminListeners()
ENROLLMENTS = Enrollment.__table__
CUSTOMERS = Customer.__table__
CHANNELS = CustomerChannels.__table__
CHANNEL_ORDER = ("line", "email", "sms", "push")
ROOM = LINE_TEXT_LIMIT - 400  # for the lines of an answer; the rest is its heading
_DIGITS = re.compile(r"\D")
PHONE_LIKE = re.compile(r"[0-9+\-() ]+")


def label(name: str, **fields: object) -> str:
    return text(f"messages.admin_lookup.labels.{name}", STAFF_LOCALE, **fields)


def fit(lines: list[str], room: int = ROOM) -> list[str]:
    """The last lines that fit in one LINE message, after a note of how many earlier ones were left out."""
    kept: list[str] = []
    size = 0
    for line in reversed(lines):
        size += len(line) + 1
        if size > room - 80:  # the note's room
            break
        kept.append(line)
    left_out = len(lines) - len(kept)
    return ([label("omitted", count=left_out)] if left_out else []) + kept[::-1]


# ── masking (pure) ───────────────────────────────────────────────────────────────────────────────────────


def mask_name(family: str | None, given: str | None) -> str:
    """山田 花子 → 山＊ ＊＊＊: the family name's first character, the rest hidden at a fixed length."""
    first = (family or given or "")[:1]
    return f"{first}＊ ＊＊＊" if first else label("no_name")


def mask_phone(number: str) -> str:
    """+819012345678 or 090-1234-5678 → 090-****-5678."""
    digits = _DIGITS.sub("", number)
    if number.startswith("+81"):
        digits = "0" + digits[2:]
    return f"{digits[:3]}-****-{digits[-4:]}"


def mask_email(address: str) -> str:
    """taro@example.jp → t***@example.jp."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}"


def audit_term(ctx, term: str) -> str:
    """A customer key typed by staff as the audit keeps it: a keyed hash (bot.staff.admin.pseudonym), never the
    顧客ID, phone number or address itself; the detail names the customer found by internal id."""
    return pseudonym(ctx.settings, term)


def masked_term(term: str) -> str:
    """A search term as the audit keeps it: an email address or anything with a phone's digits masked."""
    if "@" in term:
        return mask_email(term)
    if len(_DIGITS.sub("", term)) >= 8 and PHONE_LIKE.fullmatch(term):
        return mask_phone(term)
    return term


# ── finding customers ────────────────────────────────────────────────────────────────────────────────────


def one_customer(call: Call, ctx, key: str) -> int:
    """The one customer `key` names (bot.staff.finder). Otherwise the staff member is told (nobody, or the
    customers it names, masked, to choose from) and the command stops there (`Answered`)."""
    connection = ctx.session.connection()
    found = find_customers(connection, key)
    if len(found) == 1:
        return found[0]
    if not found:
        call.detail = "no customer"
        say(call, ctx, "admin_lookup.no_customer", lookup_key=masked_term(key))
    else:
        call.personal_data = True  # the customers to choose from are shown, masked
        call.detail = about(found)
        matches = "\n".join(match_lines(connection, found))
        say(call, ctx, "admin_lookup.customer_matches", lookup_lines=matches)
    raise Answered(outcome(found))


def match_lines(connection: Connection, found: list[int]) -> list[str]:
    """Each customer found, masked, with the ids to choose them by; a note when there are more."""
    lines = [match_line(connection, customer_id) for customer_id in found[:MATCHES_SHOWN]]
    if len(found) > MATCHES_SHOWN:
        lines.append(label("more_matches", count=MATCHES_SHOWN))
    return lines


def match_line(connection: Connection, customer_id: int) -> str:
    person = person_of(connection, customer_id)
    reach = [mask_phone(person.sms_phone)] if person.sms_phone else []
    reach += [mask_email(person.email_main)] if person.email_main else []
    return " ".join(
        [customer_ref(connection, customer_id), mask_name(person.family_name, person.given_name), *reach]
    )


def person_of(connection: Connection, customer_id: int):
    """The customer's name and channel row (all None where they have none)."""
    source = CUSTOMERS.outerjoin(CHANNELS, CHANNELS.c.customer_id == CUSTOMERS.c.id)
    return connection.execute(
        select(CUSTOMERS.c.family_name, CUSTOMERS.c.given_name, *CHANNELS.c)
        .select_from(source)
        .where(CUSTOMERS.c.id == customer_id)
    ).one()


# ── /stats ───────────────────────────────────────────────────────────────────────────────────────────────


def stats_line(scenario: Scenario, funnel: Funnel) -> str:
    sent = "・".join(
        f"{text(f'tracking.channel.{channel}', STAFF_LOCALE)} {funnel.sent[channel]}"
        for channel in CHANNEL_ORDER
        if funnel.sent.get(channel)
    )
    treated = funnel.entered - funnel.held
    rates = ""
    if treated and funnel.held:
        control = _rate(funnel.held_converted, funnel.held)
        rates = label("rates", treated=_rate(funnel.converted, treated), control=control)
    elif treated:
        rates = label("rate", treated=_rate(funnel.converted, treated))
    return label(
        "stats_line",
        number=scenario.number,
        title=scenario.title,
        entered=funnel.entered,
        held=label("held", held=funnel.held) if funnel.held else "",
        sent=sent or label("no_sends"),
        engaged=funnel.engaged,
        converted=funnel.converted + funnel.held_converted,
        held_converted=label("held", held=funnel.held_converted) if funnel.held else "",
        rates=rates,
        opted_out=funnel.opted_out,
    )


def _rate(part: int, whole: int) -> str:
    return f"{part / whole:.1%}"


def _scenario(key: str, ctx) -> Scenario:
    try:
        return find_scenario(key, ctx.settings.scenarios)
    except ScenarioError:
        raise Usage from None


@admin.command("stats", "集計", texts="admin_lookup")
def show_stats(call: Call, ctx) -> None:
    """/stats: one line per scenario; /stats N: scenario N."""
    if len(call.args) > 1:
        raise Usage
    one = _scenario(call.args[0], ctx) if call.args else None
    chosen = [one] if one else sorted(ctx.settings.scenarios.values(), key=lambda s: s.number)
    figures = funnels(ctx.session.connection(), one.id if one else None)
    lines = [stats_line(scenario, figures.get(scenario.id, Funnel())) for scenario in chosen]
    scope = f"#{one.number} {one.title}" if one else label("all_scenarios")
    call.detail = one.id if one else "all"
    say(call, ctx, "admin_lookup.stats_report", lookup_scope=scope, lookup_lines="\n".join(fit(lines)))


# ── /why ─────────────────────────────────────────────────────────────────────────────────────────────────


@admin.command("why", "理由", texts="admin_lookup")
def explain(call: Call, ctx) -> str | None:
    """/why CUSTOMER [N]: the decisions taken for the customer (in one scenario, or all), newest kept."""
    if not 1 <= len(call.args) <= 2:
        call.args[:] = [audit_term(ctx, " ".join(call.args))] if call.args else []  # 090 1234 5678 by mistake
        raise Usage
    scenario = _scenario(call.args[1], ctx) if len(call.args) == 2 else None
    connection = ctx.session.connection()
    call.personal_data = True
    key, call.args[0] = call.args[0], audit_term(ctx, call.args[0])
    customer_id = one_customer(call, ctx, key)
    call.detail = f"customer {customer_id}"
    scope = f"#{scenario.number} {scenario.title}" if scenario else label("all_scenarios")
    traced = trace_lines(connection, customer_id, scenario.id if scenario else None, STAFF_LOCALE)
    lines = [" ".join(line.split()) for line in traced]  # the CLI's column padding means nothing in LINE
    if scenario and not lines:
        lines = [label("not_entered"), *entry_lines(connection, scenario, customer_id, ctx.now, STAFF_LOCALE)]
    ref = customer_ref(connection, customer_id)
    if not lines:
        say(call, ctx, "admin_lookup.why_none", customer_ref=ref, lookup_scope=scope)
        return None
    say(
        call,
        ctx,
        "admin_lookup.why_trace",
        customer_ref=ref,
        lookup_scope=scope,
        lookup_lines="\n".join(fit(lines)),
    )
    return None
