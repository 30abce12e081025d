"""The staff dashboard: its figures against a database filled here (each scenario's funnel and holdout, channel
reach per day, SMS segments and cost by month, what failed or was held and why), the page with an SVG per chart
in Japanese and English, and who may see it (local mode, the bearer token, the login form; closed otherwise), with
wrong tokens counted per client address and in all, forwarded addresses trusted only behind proxies, and CSRF."""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from bot.platform import csrf
from bot.staff import dashboard
from bot.staff.login import FAILURE_SECONDS, MAX_FAILURES, MAX_FAILURES_ALL
from flows.engine import TOKYO
from models import (
    ConsentEvent,
    Customer,
    CustomerActivity,
    CustomerChannels,
    Delivery,
    Enrollment,
    LineUser,
    TraceEntry,
    utcnow,
)

NOW = datetime(2026, 3, 31, 3, 0, tzinfo=UTC)  # 12:00 in Japan; the 30 days are 3/2 … 3/31
TOKEN = "dashboard-test-token-7KQ2M"
CHARTS = 7  # funnel ×3, reach, SMS ×2, failed and held


def ago(days: float, moment: datetime = NOW) -> datetime:
    return moment - timedelta(days=days)


def add(runtime, table, **values) -> int | None:
    with runtime.engine.begin() as connection:
        result = connection.execute(insert(table.__table__).values(**values))
        return result.inserted_primary_key[0] if result.inserted_primary_key else None


def customer(runtime, **channels) -> int:
    customer_id = add(runtime, Customer, created_at=NOW, updated_at=NOW)
    if channels:
        add(runtime, CustomerChannels, customer_id=customer_id, **({"updated_at": NOW} | channels))
    return customer_id


def enrol(runtime, customer_id: int, scenario_id: str = "visit_reminder", **values) -> int:
    row = {"status": "done", "held_out": False, "outcome": None, "wake_token": 0, "updated_at": NOW} | values
    key = f"customer:{customer_id}"
    return add(
        runtime,
        Enrollment,
        scenario_id=scenario_id,
        customer_id=customer_id,
        anchor_key=key,
        entered_at=NOW,
        **row,
    )


def deliver(runtime, customer_id: int, channel: str, enrollment_id: int | None = None, **values) -> None:
    moment = values.pop("at", NOW)
    row = {"status": "sent", "sent_at": moment, "step": f"A{channel}", "updated_at": moment} | values
    add(
        runtime,
        Delivery,
        enrollment_id=enrollment_id,
        customer_id=customer_id,
        template="visit_reminder.a",
        channel=channel,
        purpose="marketing",
        due_at=moment,
        attempts=1,
        created_at=moment,
        **row,
    )


def line_user(runtime, line_user_id: str, status: str, **moments) -> None:
    add(
        runtime,
        LineUser,
        line_user_id=line_user_id,
        friend_status=status,
        created_at=NOW,
        updated_at=NOW,
        **moments,
    )


def consent(runtime, customer_id: int, channel: str, granted: bool, at: datetime) -> None:
    row = {
        "channel": channel,
        "purpose": "marketing",
        "granted": granted,
        "occurred_at": at,
        "source": "test",
    }
    add(runtime, ConsentEvent, customer_id=customer_id, **row)


def trace(
    runtime, customer_id: int, code: str, at: datetime, enrollment_id=None, step=None, **details
) -> None:
    add(
        runtime,
        TraceEntry,
        enrollment_id=enrollment_id,
        customer_id=customer_id,
        scenario_id="visit_reminder",
        at=at,
        step=step,
        code=code,
        details=details,
    )


def fill_funnel(runtime) -> None:
    """#5: five entrants, two held out (one of them converted); LINE 2, email 1 sent; one engaged; one opt-out."""
    people = [customer(runtime) for _ in range(5)]
    won = enrol(runtime, people[0], outcome="converted")
    deliver(runtime, people[0], "line", won, opened_at=NOW)
    deliver(runtime, people[0], "email", won)
    left = enrol(runtime, people[1], outcome="opted_out")
    deliver(runtime, people[1], "line", left)
    waiting = enrol(runtime, people[2], status="active")
    deliver(runtime, people[2], "sms", waiting, status="queued", sent_at=None)
    enrol(runtime, people[3], held_out=True, outcome="converted")
    enrol(runtime, people[4], held_out=True)


def test_funnel_counts_entrants_holdout_sends_engagement_and_outcomes(runtime):
    """Each scenario's funnel (the figures /stats shows): entrants and holdout, sends per channel, engaged,
    converted among the treated and among the held out, opted out."""
    fill_funnel(runtime)
    with runtime.engine.connect() as connection:
        figures = dashboard.funnels(connection)
    funnel = figures["visit_reminder"]
    assert (funnel.entered, funnel.held, funnel.treated) == (5, 2, 3)
    assert funnel.sent == {"line": 2, "email": 1}
    assert (funnel.engaged, funnel.converted, funnel.held_converted, funnel.opted_out) == (1, 1, 1, 1)
    assert funnel.treated_rate == pytest.approx(1 / 3) and funnel.control_rate == 0.5
    assert set(figures) == {"visit_reminder"}


def test_reach_counts_each_channel_at_the_end_of_each_day(runtime):
    """LINE friends from follow to block, linked IDs from the link's date (a link only a file reports, from its
    row's last change), app users from their records, SMS and email permission from the consent history (of
    customers with the address on file), for the last 30 Japan days."""
    line_user(runtime, "U1", "following", followed_at=ago(40))
    line_user(runtime, "U2", "following", followed_at=ago(10))
    line_user(runtime, "U3", "blocked", followed_at=ago(20), blocked_at=ago(5))
    line_user(runtime, "U4", "unknown")
    line_user(runtime, "U5", "blocked", followed_at=ago(3), blocked_at=ago(9))
    customer(runtime, line_user_id="U1", line_linked=True, line_linked_at=ago(6), updated_at=ago(2))
    customer(runtime, line_user_id="U2", line_linked=False)
    customer(runtime, line_user_id="U6", line_linked=True, updated_at=ago(2))  # a file's link: undated
    withdrew = customer(runtime, sms_phone="+819012345678", sms_permitted=False)
    consent(runtime, withdrew, "sms", True, ago(15))
    consent(runtime, withdrew, "sms", False, ago(3))
    consent(runtime, customer(runtime, sms_permitted=True), "sms", True, ago(15))  # no number: not reachable
    customer(runtime, sms_phone="+819087654321", sms_permitted=True, updated_at=ago(1))  # no history
    consent(
        runtime, customer(runtime, email_main="a@example.jp", email_permitted=True), "email", True, ago(40)
    )
    back = customer(runtime, email_main="b@example.jp", email_permitted=True)
    for days, granted in ((50, True), (45, False), (7, True)):
        consent(runtime, back, "email", granted, ago(days))
    app_user = customer(runtime)
    add(
        runtime,
        CustomerActivity,
        customer_id=app_user,
        app_user=True,
        app_last_login_at=ago(8),
        updated_at=ago(1),
    )
    add(runtime, CustomerActivity, customer_id=customer(runtime), app_user=True, updated_at=ago(35))
    add(runtime, CustomerActivity, customer_id=customer(runtime), app_user=False, updated_at=ago(2))
    with runtime.engine.connect() as connection:
        days, series = dashboard.reach(connection, NOW)
    assert (days[0].isoformat(), days[-1].isoformat(), len(days)) == ("2026-03-02", "2026-03-31", 30)
    assert series["line_friends"] == [1] * 9 + [2] * 10 + [3] * 5 + [2] * 6
    assert series["line_linked"] == [0] * 23 + [1] * 4 + [2] * 3
    assert series["sms_permitted"] == [0] * 14 + [1] * 12 + [0] * 2 + [1] * 2
    assert series["email_permitted"] == [1] * 22 + [2] * 8
    assert series["app_users"] == [1] * 21 + [2] * 9


def test_sms_segments_and_cost_by_japan_month_and_carrier(runtime):
    """SMS the provider took per Japan month (a message sent at 01:00 on the 1st in Japan belongs to that month):
    delivered ones billed by the receipt's carrier (or "not reported" when it named none), those awaiting a
    receipt as an estimate at the month's unit price (never ¥0), undelivered ones unbilled; other channels and
    unsent rows do not count."""
    person = customer(runtime)
    march = datetime(2026, 3, 10, tzinfo=TOKYO)
    delivered = {"status": "delivered", "delivered_at": march}
    deliver(
        runtime, person, "sms", step="a", at=march, segments=2, cost_yen=20.0, carrier="docomo", **delivered
    )
    deliver(runtime, person, "sms", step="b", at=datetime(2026, 3, 1, 1, tzinfo=TOKYO), segments=3)
    deliver(runtime, person, "sms", step="b2", at=march, segments=1)
    deliver(
        runtime, person, "sms", step="g", at=march, status="failed", error="absent_subscriber", carrier="au"
    )
    feb = datetime(2026, 2, 15, tzinfo=TOKYO)
    deliver(runtime, person, "sms", step="c", at=feb, segments=3, cost_yen=28.5, status="delivered")
    deliver(
        runtime, person, "sms", step="d", at=datetime(2025, 1, 10, tzinfo=TOKYO), segments=9, cost_yen=90.0
    )
    deliver(runtime, person, "sms", step="e", status="queued", sent_at=None, segments=4)
    deliver(runtime, person, "line", step="f")
    with runtime.engine.connect() as connection:
        months = dashboard.sms_months(connection, NOW)
    assert months == [
        dashboard.SmsMonth("2026-02", "billed", "not_reported", 1, 3, 28.5),
        dashboard.SmsMonth("2026-03", "billed", "docomo", 1, 2, 20.0),
        dashboard.SmsMonth("2026-03", "estimate", None, 2, 4, 40.0),  # 4 segments at 10 yen (up to 5,000)
        dashboard.SmsMonth("2026-03", "undelivered", None, 1, 0, 0.0),
    ]


def test_problems_group_failed_held_and_skipped_by_reason_for_seven_days(runtime):
    """Failed deliveries by their error, held ones by their error or else the trace's reasons, and messages
    the rules did not send (skipped, no channel), of the last 7 days only."""
    person = customer(runtime)
    enrollment = enrol(runtime, person)
    invalid = "LINE 400: The property, 'to', in the request body is invalid"
    deliver(runtime, person, "line", step="f1", status="failed", error=invalid, at=ago(1))
    deliver(runtime, person, "email", step="f2", status="failed", error="cancelled", at=ago(2))
    deliver(runtime, person, "email", step="f3", status="failed", error="cancelled", at=ago(2))
    deliver(runtime, person, "sms", step="f4", status="failed", error="old", at=ago(10))
    deliver(runtime, person, "line", enrollment, step="A", status="held", sent_at=None, at=ago(1))
    trace(
        runtime, person, "held", ago(1), enrollment, "A", channel="line", reasons="quiet_hours, frequency_cap"
    )
    deliver(runtime, person, "email", step="h2", status="held", sent_at=None, error="quiet_hours", at=ago(1))
    trace(runtime, person, "skipped", ago(1), enrollment, "B", channel="sms", reasons="frequency_cap")
    trace(runtime, person, "not_sent", ago(2), enrollment, "C", template="visit_reminder.c")
    trace(runtime, person, "skipped", ago(9), enrollment, "D", channel="sms", reasons="frequency_cap")
    with runtime.engine.connect() as connection:
        found = dashboard.problems(connection, NOW)
    assert found == [
        dashboard.Problem("failed", "email", "cancelled", 2),
        dashboard.Problem("failed", "line", invalid, 1),
        dashboard.Problem("held", "email", "quiet_hours", 1),
        dashboard.Problem("held", "line", "quiet_hours, frequency_cap", 1),
        dashboard.Problem("skipped", "sms", "frequency_cap", 1),
        dashboard.Problem("skipped", None, "no_channel", 1),
    ]


# ── the page ─────────────────────────────────────────────────────────────────────────────────────────────


@pytest.fixture
def open_page(runtime):
    """A client of the web app with the settings given (local mode, a dashboard token …)."""
    from app import create_app

    def build(**settings):
        runtime.settings = runtime.settings.model_copy(update=settings)
        return create_app(runtime=runtime).test_client()

    return build


def fill_page(runtime) -> None:
    now = utcnow()
    fill_funnel(runtime)
    person = customer(runtime, sms_phone="+819012345678", sms_permitted=True, updated_at=now)
    deliver(runtime, person, "sms", step="s", status="delivered", segments=2, cost_yen=20.0, at=now)
    deliver(runtime, person, "line", step="x", status="failed", error="<b>bad</b> request", at=now)
    line_user(runtime, "U1", "following", followed_at=now - timedelta(hours=1))


def test_page_shows_the_figures_with_an_svg_per_chart_in_japanese(runtime, open_page):
    """In local mode /dashboard is open and shows, in Japanese, every chart as SVG and the tables' numbers;
    texts from the data are escaped."""
    fill_page(runtime)
    page = open_page(local_mode=True).get("/dashboard")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assert '<html lang="ja">' in html and html.count("<svg") == CHARTS
    for label in (
        "シナリオ別ファネル",
        "チャネル別の送信数",
        "成果率：配信群と対照群",
        "LINE友だち",
        "SMS課金通数",
    ):
        assert label in html
    row = re.search(
        r'<td class="name">#5 来店予約後の来店リマインドシナリオ</td>(.*?)</tr>', html, re.DOTALL
    )[1]
    assert re.findall(r"<td>([^<]*)</td>", row) == [
        *("5", "2", "2", "1", "0", "0"),  # entered, held out, sent: LINE, email, SMS, app
        *("1", "2", "1", "33.3%", "50.0%", "-16.7"),  # engaged, converted, opted out, rates, difference
    ]
    assert re.search(
        r'<td class="text">通信会社の記載なし（到達済み）</td><td>1</td><td>2</td><td>20</td>', html
    )
    assert "配信事業者のエラー：&lt;b&gt;bad&lt;/b&gt; request" in html and "<b>bad</b>" not in html
    assert 'data-value="1"><title>LINE友だち' in html


def test_page_in_english_with_lang_en(runtime, open_page):
    """?lang=en shows the same page in English."""
    fill_page(runtime)
    html = open_page(local_mode=True).get("/dashboard?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in html and html.count("<svg") == CHARTS
    for label in (
        "Funnel by scenario",
        "LINE friends",
        "SMS billable segments",
        "#5 Store-visit reminder after reservation",
        "Carrier not reported (delivered)",
        "Provider error: &lt;b&gt;bad&lt;/b&gt; request",
    ):
        assert label in html
    assert "シナリオ別ファネル" not in html and "visit_reminder" not in html


def test_closed_outside_local_mode_without_a_token(runtime, open_page):
    """Outside local mode with no DASHBOARD_TOKEN set, the dashboard is closed to everyone, bearer or not."""
    fill_page(runtime)
    client = open_page(local_mode=False, dashboard_token="")
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer anything"}):
        page = client.get("/dashboard", headers=headers)
        assert page.status_code == 403 and "<svg" not in page.get_data(as_text=True)
    assert client.post("/dashboard/login", data={"token": ""}).status_code == 403


def test_open_with_the_bearer_token_only(runtime, open_page):
    """With DASHBOARD_TOKEN set, `Authorization: Bearer <token>` opens the dashboard; none or a wrong one gets
    403 and the login form."""
    fill_page(runtime)
    client = open_page(local_mode=False, dashboard_token=TOKEN)
    refused = client.get("/dashboard")
    assert refused.status_code == 403 and 'name="token"' in refused.get_data(as_text=True)
    assert client.get("/dashboard", headers={"Authorization": f"Bearer {TOKEN}x"}).status_code == 403
    opened = client.get("/dashboard", headers={"Authorization": f"Bearer {TOKEN}"})
    assert opened.status_code == 200 and opened.get_data(as_text=True).count("<svg") == CHARTS


def form_csrf(client) -> str:
    """The CSRF field of the form on /dashboard (the login form, or the logout form when signed in)."""
    page = client.get("/dashboard").get_data(as_text=True)
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def log_in(client, token: str, query: str = "", **request):
    return client.post(
        f"/dashboard/login{query}", data={"token": token, "csrf": form_csrf(client)}, **request
    )


def log_out(client):
    return client.post("/dashboard/logout", data={"csrf": form_csrf(client)})


def with_bearer(client, token: str, address: str = "127.0.0.1", **headers):
    headers["Authorization"] = f"Bearer {token}"
    return client.get("/dashboard", headers=headers, environ_base={"REMOTE_ADDR": address})


def test_login_form_sets_a_signed_cookie_and_limits_wrong_tries(runtime, open_page):
    """The form's right token sets a signed cookie that opens the page (a forged one does not); logging out
    closes it; wrong tokens are refused, and after ten the form refuses even the right one for a while."""
    client = open_page(local_mode=False, dashboard_token=TOKEN)
    assert log_in(client, "wrong").status_code == 403
    signed_in = log_in(client, TOKEN, "?lang=en")
    assert signed_in.status_code == 303 and signed_in.headers["Location"].endswith("/dashboard?lang=en")
    assert (
        "HttpOnly" in signed_in.headers["Set-Cookie"] and "SameSite=Strict" in signed_in.headers["Set-Cookie"]
    )
    assert client.get("/dashboard").status_code == 200
    assert log_out(client).status_code == 303
    assert client.get("/dashboard").status_code == 403
    client.set_cookie("dashboard_login", "staff.forged.signature", path="/dashboard")
    assert client.get("/dashboard").status_code == 403
    for _ in range(9):
        assert log_in(client, "wrong").status_code == 403
    locked = log_in(client, TOKEN)
    assert locked.status_code == 429 and "dashboard_login=" not in locked.headers.get("Set-Cookie", "")


def test_wrong_bearer_tokens_are_counted_with_the_form_and_lock_the_address(runtime, open_page):
    """Wrong `Authorization` headers (any scheme) count with wrong tokens on the form: after ten, that address gets
    429 with Retry-After even with the right token, by header or form; another address is not locked."""
    client = open_page(local_mode=False, dashboard_token=TOKEN)
    for i in range(MAX_FAILURES - 2):
        headers = {"Authorization": "Basic d3Jvbmc="} if i % 2 else {"Authorization": "Bearer wrong"}
        assert client.get("/dashboard", headers=headers).status_code == 403
    assert log_in(client, "wrong").status_code == 403
    assert with_bearer(client, "").status_code == 403
    locked = with_bearer(client, TOKEN)
    assert locked.status_code == 429 and 0 < int(locked.headers["Retry-After"]) <= FAILURE_SECONDS
    assert "<svg" not in locked.get_data(as_text=True)
    assert log_in(client, TOKEN).status_code == 429
    assert with_bearer(client, TOKEN, address="203.0.113.2").status_code == 200


def test_parallel_wrong_tries_get_no_more_than_the_limit_checked(runtime, open_page):
    """Forty wrong tries at once from one address, by header and by form, get exactly ten answers "wrong" and
    thirty 429s: each try is counted before its token is compared."""
    app = open_page(local_mode=False, dashboard_token=TOKEN).application
    browser = app.test_client()
    field = form_csrf(browser)
    cookie = browser.get_cookie("dashboard_csrf", path="/dashboard").value
    start = threading.Barrier(40)

    def try_wrong(i: int) -> int:
        client = app.test_client()
        client.set_cookie("dashboard_csrf", cookie, path="/dashboard")
        start.wait()
        if i % 2:
            return with_bearer(client, f"wrong-{i}").status_code
        return client.post("/dashboard/login", data={"token": f"wrong-{i}", "csrf": field}).status_code

    with ThreadPoolExecutor(40) as pool:
        statuses = Counter(pool.map(try_wrong, range(40)))
    assert statuses == {403: MAX_FAILURES, 429: 40 - MAX_FAILURES}


def test_many_addresses_are_stopped_by_a_global_ceiling_but_signed_in_staff_stay(runtime, open_page):
    """A hundred wrong tries spread over twenty addresses lock out every address, a new one with the right token
    included (429, Retry-After); a browser signed in before keeps its session."""
    client = open_page(local_mode=False, dashboard_token=TOKEN)
    staff = client.application.test_client()
    assert log_in(staff, TOKEN).status_code == 303
    for i in range(MAX_FAILURES_ALL):
        assert with_bearer(client, "wrong", address=f"198.51.100.{i % 20}").status_code == 403
    locked = with_bearer(client, TOKEN, address="203.0.113.9")
    assert locked.status_code == 429 and 0 < int(locked.headers["Retry-After"]) <= FAILURE_SECONDS
    assert staff.get("/dashboard").status_code == 200


def test_forwarded_for_is_not_trusted_without_proxies(runtime, open_page):
    """With TRUSTED_PROXIES=0 the connection's address is the client's: rotating a forged X-Forwarded-For does
    not escape the lock, nor make the session cookie Secure by a forged X-Forwarded-Proto."""
    client = open_page(local_mode=False, dashboard_token=TOKEN, trusted_proxies=0)
    for i in range(MAX_FAILURES):
        assert with_bearer(client, "wrong", **{"X-Forwarded-For": f"192.0.2.{i}"}).status_code == 403
    assert with_bearer(client, TOKEN, **{"X-Forwarded-For": "192.0.2.200"}).status_code == 429
    gate = client.get("/dashboard", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" not in gate.headers["Set-Cookie"]


def test_behind_one_trusted_proxy_the_last_hop_is_the_client(runtime, open_page):
    """With TRUSTED_PROXIES=1 (a Heroku-like router) the address the router appended is the client: hops a client
    forges before it do not escape the lock, another client behind the same router is not locked, and the
    router's X-Forwarded-Proto makes the cookies Secure."""
    client = open_page(local_mode=False, dashboard_token=TOKEN, trusted_proxies=1)
    router = "10.1.2.3"
    for i in range(MAX_FAILURES):
        forwarded = {"X-Forwarded-For": f"192.0.2.{i}, 198.51.100.7"}
        assert with_bearer(client, "wrong", address=router, **forwarded).status_code == 403
    forged = {"X-Forwarded-For": "192.0.2.99, 198.51.100.7"}
    assert with_bearer(client, TOKEN, address=router, **forged).status_code == 429
    other = {"X-Forwarded-For": "198.51.100.8"}
    assert with_bearer(client, TOKEN, address=router, **other).status_code == 200
    gate = client.get(
        "/dashboard", headers={"X-Forwarded-Proto": "https"}, environ_base={"REMOTE_ADDR": router}
    )
    assert "Secure" in gate.headers["Set-Cookie"]


def test_login_and_logout_need_their_form_csrf_token(runtime, open_page):
    """A login POST without the page's CSRF token, with a made-up one, another browser's or the logout form's
    gets 400 and no session even with the right token, and is not counted; a logout POST without its token gets
    400 and the session stays."""
    client = open_page(local_mode=False, dashboard_token=TOKEN)
    other = client.application.test_client()
    form_csrf(client)
    cookie = client.get_cookie("dashboard_csrf", path="/dashboard").value
    for field in (None, "0" * 64, form_csrf(other), csrf.form_token(TOKEN, cookie, "logout")):
        refused = client.post("/dashboard/login", data={"token": TOKEN} | ({"csrf": field} if field else {}))
        assert refused.status_code == 400
        assert not any("dashboard_login=" in c for c in refused.headers.getlist("Set-Cookie"))
    assert client.get("/dashboard").status_code == 403
    assert not any(int(runtime.redis.get(key)) for key in runtime.redis.scan_iter("dashboard:fails:*"))
    assert log_in(client, TOKEN).status_code == 303
    assert client.post("/dashboard/logout").status_code == 400
    assert client.post("/dashboard/logout", data={"csrf": form_csrf(other)}).status_code == 400
    assert client.get("/dashboard").status_code == 200
    assert log_out(client).status_code == 303 and client.get("/dashboard").status_code == 403


def test_refusals_are_logged_with_route_and_outcome_only(runtime, open_page, caplog):
    """Each refusal is logged with its route and outcome (wrong token, CSRF, locked), never with the token tried
    nor the client's address."""
    caplog.set_level(logging.INFO, logger="handlers.dashboard")
    client = open_page(local_mode=False, dashboard_token=TOKEN)
    address, guess = "203.0.113.77", "guess-7Q4ZP"
    assert with_bearer(client, guess, address=address).status_code == 403
    assert log_in(client, guess, environ_base={"REMOTE_ADDR": address}).status_code == 403
    client.post("/dashboard/login", data={"token": guess}, environ_base={"REMOTE_ADDR": address})
    for _ in range(MAX_FAILURES):
        with_bearer(client, guess, address=address)
    messages = {r.getMessage() for r in caplog.records if r.name == "handlers.dashboard"}
    assert {
        "dashboard /dashboard refused: wrong",
        "dashboard /dashboard/login refused: wrong",
        "dashboard /dashboard/login refused: csrf",
        "dashboard /dashboard refused: locked",
    } <= messages
    for secret in (guess, TOKEN, address):
        assert secret not in caplog.text
