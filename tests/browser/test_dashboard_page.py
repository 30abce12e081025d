"""The dashboard a new operator opens after `make demo` and `make run`, in a real browser at a narrow and a wide
viewport: its figures agree with each other, with `flask delivery status` and with /stats in the admin chat;
the reach chart is a trend, not a flat line that jumps on the demo's day; every label is in words (no codes);
scenario names are whole; SMS cost is billed by carrier or an estimate that says so.

Screenshots go to DASHBOARD_SHOTS_DIR (default /tmp/dashboard-shots); their paths are printed."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from bot.platform.i18n import LOCALES_DIR
from devtools.local import LOCAL_SECRET, LOCAL_TOKEN
from tests.browser.conftest import ROOT

SHOTS = Path(os.environ.get("DASHBOARD_SHOTS_DIR") or "/tmp/dashboard-shots")
VIEWPORTS = {"wide": {"width": 1440, "height": 900}, "narrow": {"width": 390, "height": 844}}
CODES = re.compile(
    r"\b(not_sent|frequency_cap|same_day_duplicate|quiet_hours|held_too_long|no_channel|not_reported|"
    r"unknown|line_friends|line_linked|visit_reminder|quote_followup)\b"
)
STAFF = "DEMO0001"


def names(locale: str) -> set[str]:
    tree = yaml.safe_load((LOCALES_DIR / f"{locale}.yml").read_text(encoding="utf-8"))[locale]
    return set(tree["scenario_view"]["names"].values())


def shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"dashboard screenshot: {path}")
    return path


def numbers(cells: list[str]) -> list[int]:
    return [int(re.sub(r"[^0-9-]", "", cell) or 0) for cell in cells]


def page_ledger(page) -> dict[str, list[int]]:
    """{channel name: statuses…, rows, sent, by origin…} as the dashboard's ledger table shows them."""
    rows = page.locator("#ledger tbody tr")
    return {
        cells[0]: numbers(cells[1:])
        for cells in (rows.nth(i).locator("td").all_inner_texts() for i in range(rows.count()))
    }


def cli_ledger(service) -> dict[str, dict[str, int]]:
    """`flask delivery status` against the running service: {channel: {status or sent/origin: count}}."""
    env = dict(
        service.env, LINE_CHANNEL_SECRET=LOCAL_SECRET, LINE_CHANNEL_ACCESS_TOKEN=LOCAL_TOKEN, LOCAL_MODE="1"
    )
    shown = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "delivery", "status"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    out: dict[str, dict[str, int]] = {}
    for line in shown.splitlines():
        sent = re.fullmatch(r"(\w+)\s+([\d,]+)\s+\((.*)\)", line)
        if sent:
            origins = dict(part.rsplit(" ", 1) for part in sent[3].split(", "))
            out.setdefault(sent[1], {}).update(
                {f"sent:{k}": int(v.replace(",", "")) for k, v in origins.items()}
            )
            out[sent[1]]["sent"] = int(sent[2].replace(",", ""))
            continue
        row = re.fullmatch(r"(\w+)\s+(\w+)\s+([\d,]+)", line)
        if row:
            out.setdefault(row[1], {})[row[2]] = int(row[3].replace(",", ""))
    return out


STATUSES = ("queued", "held", "paused", "sent", "delivered", "failed")
CHANNEL_NAMES = {"LINE": "line", "メール": "email", "SMS": "sms", "アプリ通知": "push"}


def as_cli(table: dict[str, list[int]]) -> dict[str, dict[str, int]]:
    """The page's ledger table in the CLI's terms (rows with no count are not printed by the CLI)."""
    out = {}
    for name, values in table.items():
        statuses = {s: n for s, n in zip(STATUSES, values[:6], strict=True) if n}
        sent = {"sent:scenario": values[8], "sent:broadcast": values[9], "sent:chat": values[10]}
        # the CLI prints a status line only for statuses that have rows, and "sent" for every channel
        out[CHANNEL_NAMES[name]] = {**statuses, "sent": values[7], **sent}
    return out


def test_the_dashboard_agrees_with_itself_the_cli_and_stats(service, browser):
    """After the demo: LINE friends ≥ linked IDs, and the LINE customers marketing can reach are friends or on
    file; the ledger table equals `flask delivery status`; the funnel's total row equals the ledger's scenario
    share; /stats 3 in the admin chat says the funnel row of #3; the reach chart rises over the weeks."""
    context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo", viewport=VIEWPORTS["wide"])
    context.set_default_timeout(15_000)
    page = context.new_page()
    for _ in range(5):  # the running worker may send between two readings: compare a quiet moment
        before = cli_ledger(service)
        page.goto(f"{service.base}/dashboard")
        table = page_ledger(page)
        if cli_ledger(service) == before:
            break
    assert as_cli(table) == before
    totals = page.locator("#funnel tfoot td[data-channel]")
    funnel_total = dict(
        zip(
            totals.evaluate_all("cells => cells.map(c => c.dataset.channel)"),
            numbers(totals.all_inner_texts()),
            strict=True,
        )
    )
    assert funnel_total == {channel: counts.get("sent:scenario", 0) for channel, counts in before.items()} | {
        c: 0 for c in ("line", "email", "sms", "push") if c not in before
    }

    today = {
        page.locator("#reach tbody tr").nth(i).get_attribute("data-kpi"): numbers(
            page.locator("#reach tbody tr").nth(i).locator("td").all_inner_texts()[1:3]
        )
        for i in range(page.locator("#reach tbody tr").count())
    }
    assert today["line_friends"][1] >= today["line_linked"][1] > 0
    friends = [
        int(float(v))
        for v in page.locator("#reach svg circle").evaluate_all("c => c.map(e => e.dataset.value)")[:30]
    ]
    rises = [b - a for a, b in itertools.pairwise(friends)]
    assert friends[0] > 0 and len(set(friends)) > 5  # a trend over the month
    assert max(rises) < (friends[-1] - friends[0] + 1) / 2  # not flat, then one jump on the demo's day

    row = page.locator("#funnel tbody tr", has_text="#3 見積もり者への契約促進シナリオ")
    cells = numbers(row.locator("td").all_inner_texts()[1:8])  # entered, held, LINE, email, SMS, app, engaged
    context.close()

    chat = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo", viewport=VIEWPORTS["wide"])
    chat.set_default_timeout(20_000)
    simulator = chat.new_page()
    simulator.goto(f"{service.base}/simulator")
    simulator.fill("#search", STAFF)
    simulator.locator(f'#people-list .person[data-code="{STAFF}"]').click()
    if simulator.locator("#follow").is_visible():
        simulator.locator("#follow").click()
    simulator.locator("#text").wait_for(state="visible")
    simulator.wait_for_function("() => !document.querySelector('#text').disabled")
    simulator.fill("#text", "/stats 3")
    simulator.locator("#send").click()
    answer = simulator.locator("#messages li.from-bot", has_text="見積もり者への契約促進シナリオ:").last
    answer.wait_for()
    said = answer.inner_text()
    chat.close()
    assert f"登録 {cells[0]}" in said
    for name, count in zip(("LINE", "メール", "SMS", "アプリ通知"), cells[2:6], strict=True):
        assert (f"{name} {count}" in said) == bool(count), (name, count, said)
    assert f"反応 {cells[6]}" in said


def test_every_label_is_words_and_names_are_whole_at_both_widths(service, browser):
    """At 390 px and 1440 px, in Japanese and English: no internal code on the page, every scenario row named by
    its whole title (nothing cut, nothing overflowing its cell), the funnel chart's labels whole, and SMS cost
    by carrier or as an estimate (見込み), never 不明."""
    for locale, language in (("ja", "ja-JP"), ("en", "en-US")):
        for width, viewport in VIEWPORTS.items():
            context = browser.new_context(locale=language, timezone_id="Asia/Tokyo", viewport=viewport)
            context.set_default_timeout(15_000)
            page = context.new_page()
            page.goto(f"{service.base}/dashboard?lang={locale}")
            body = page.inner_text("body")
            assert not CODES.search(body), CODES.search(body)
            titles = [
                re.sub(r"^#\d+ ", "", t) for t in page.locator("#funnel tbody td.name").all_inner_texts()
            ]
            assert titles and set(titles) <= names(locale) and len(titles) == len(set(titles))
            overflowing = page.locator("td.name").evaluate_all(
                "cells => cells.filter(c => c.scrollWidth > c.clientWidth + 1).map(c => c.innerText)"
            )
            assert overflowing == []
            chart_labels = (
                page.locator("#funnel svg").first.locator("text[text-anchor=end]").all_text_contents()
            )
            # a wrapped label's lines are tspans: their text joins without the space at each break
            shown = {re.sub(r"^#\d+ ?", "", label).replace(" ", "") for label in chart_labels}
            whole = {name.replace(" ", "") for name in names(locale)}
            assert shown and shown <= whole and not any("…" in label for label in chart_labels)
            sms = page.inner_text("#sms")
            assert "不明" not in sms and "Unknown" not in sms
            if page.locator("#sms tbody tr").count():
                kinds = set(
                    page.locator("#sms tbody tr").evaluate_all("rows => rows.map(r => r.dataset.kind)")
                )
                assert kinds <= {"billed", "estimate", "undelivered"} and "billed" in kinds
            shot(page, f"dashboard-{locale}-{width}")
            context.close()
