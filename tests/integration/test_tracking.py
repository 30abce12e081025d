"""Tracking of our messages: link clicks, the email open pixel, opt-out links and LINE postback taps, recorded
on the delivery ledger through the web app and the worker, on SQLite and PostgreSQL."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.platform.db import session_scope
from models import ConsentEvent, Customer, CustomerChannels, Delivery, EventStatus, WebhookEvent
from tests import factories

HOME = "https://www.example.jp/"
RENEWAL = "https://www.example.jp/renewal"
NOT_FOUND_JA = "ページが見つかりません"
LINE_PREVIEW = "facebookexternalhit/1.1;line-poker/1.0"
BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile Safari/604.1"


@pytest.fixture
def settings(settings):
    """The shared settings with a second link target."""
    return settings.model_copy(update={"link_targets": {"home": HOME, "renewal": RENEWAL}})


@pytest.fixture
def customer(runtime):
    """A customer reachable and permitted on email, SMS and LINE, with one marketing message per channel."""
    uid = factories.user_id()
    now = datetime.now(UTC)
    with session_scope(runtime.engine) as session:
        person = Customer()
        session.add(person)
        session.flush()
        session.add(
            CustomerChannels(
                customer_id=person.id,
                email_main="taro@example.com",
                email_permitted=True,
                sms_phone="+819011112222",
                sms_permitted=True,
                line_user_id=uid,
                line_permitted=True,
            )
        )
        tokens = {
            channel: add_delivery(session, person.id, channel, now) for channel in ("email", "sms", "line")
        }
    return {"id": person.id, "line_user_id": uid, "tokens": tokens}


def add_delivery(session, customer_id: int, channel: str, now: datetime) -> str:
    token = secrets.token_urlsafe(16)
    session.add(
        Delivery(
            customer_id=customer_id,
            step="A",
            template="x.a",
            channel=channel,
            purpose="marketing",
            token=token,
            due_at=now,
            created_at=now,
        )
    )
    return token


def delivery(runtime, token: str) -> Delivery:
    with session_scope(runtime.engine) as session:
        return session.execute(select(Delivery).where(Delivery.token == token)).scalar_one()


def channels(runtime, customer_id: int) -> CustomerChannels:
    with session_scope(runtime.engine) as session:
        return session.get(CustomerChannels, customer_id)


def consent_events(runtime) -> list[tuple[int, str, bool, str]]:
    with session_scope(runtime.engine) as session:
        rows = session.execute(select(ConsentEvent).order_by(ConsentEvent.id)).scalars()
        return [(e.customer_id, e.channel, e.granted, e.source) for e in rows]


def signals(row: Delivery) -> tuple[bool, bool, bool]:
    return row.opened_at is not None, row.clicked_at is not None, row.tapped_at is not None


def record() -> dict[str, int]:
    """What the worker's tick does first: record the clicks and opens the links kept."""
    from bot.jobs.tasks import apply_tracking_signals

    return apply_tracking_signals()


# ── links ──


def test_click_is_recorded_once_and_redirects_home(client, runtime, customer):
    """A click on /r/<token> marks the message clicked and opened, then 302s home; a later click changes nothing."""
    token = customer["tokens"]["sms"]
    response = client.get(f"/r/{token}", headers={"User-Agent": BROWSER})
    assert response.status_code == 302 and response.headers["Location"] == HOME
    assert record() == {"click": 1}
    first = delivery(runtime, token)
    assert signals(first) == (True, True, False)
    assert first.opened_at == first.clicked_at
    again = client.get(f"/r/{token}/renewal", headers={"User-Agent": BROWSER})
    assert again.status_code == 302
    assert record() == {"unchanged": 1}
    later = delivery(runtime, token)
    assert (later.clicked_at, later.opened_at) == (first.clicked_at, first.opened_at)


@pytest.mark.parametrize("name, target", [("renewal", RENEWAL), ("home", HOME)])
def test_named_link_leads_to_its_target(client, runtime, customer, name, target):
    """/r/<token>/<name> redirects straight to the configured target of that name and counts the click."""
    token = customer["tokens"]["email"]
    response = client.get(f"/r/{token}/{name}", headers={"User-Agent": BROWSER})
    assert response.status_code == 302 and response.headers["Location"] == target
    record()
    assert signals(delivery(runtime, token)) == (True, True, False)


@pytest.mark.parametrize(
    "path",
    [
        "/r/{token}/nowhere",
        "/r/{token}/https:%2F%2Fevil.example",
        "/r/a%00b",
    ],
)
def test_unknown_name_or_crafted_token_is_a_japanese_404(client, runtime, customer, path):
    """An unknown target name or a crafted token: a Japanese 404 page, no redirect, nothing counted."""
    token = customer["tokens"]["sms"]
    response = client.get(path.format(token=token), headers={"User-Agent": BROWSER})
    assert response.status_code == 404
    assert "Location" not in response.headers
    assert NOT_FOUND_JA in response.get_data(as_text=True)
    record()
    assert signals(delivery(runtime, token)) == (False, False, False)


@pytest.mark.parametrize("suffix", ["", "/home"])
def test_token_the_ledger_does_not_know_is_sent_home_and_counts_nothing(client, runtime, customer, suffix):
    """A well-formed token the ledger does not know still leads to the configured page (no database read in
    the request; the target is configuration's, so it is no open redirect) and records nothing."""
    response = client.get(f"/r/{secrets.token_urlsafe(16)}{suffix}", headers={"User-Agent": BROWSER})
    assert response.status_code == 302 and response.headers["Location"] == HOME
    assert record() == {"unknown": 1}
    assert [signals(delivery(runtime, token)) for token in customer["tokens"].values()] == [(False,) * 3] * 3


@pytest.mark.parametrize(
    "method, agent",
    [
        ("HEAD", BROWSER),
        ("GET", LINE_PREVIEW),
        ("GET", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"),
        ("GET", "Twitterbot/1.0"),
    ],
)
def test_link_previews_and_head_requests_are_not_counted(client, runtime, customer, method, agent):
    """Link-preview fetchers and HEAD requests are redirected like anyone, but no click is recorded."""
    token = customer["tokens"]["line"]
    response = client.open(f"/r/{token}", method=method, headers={"User-Agent": agent})
    assert response.status_code == 302 and response.headers["Location"] == HOME
    assert record() == {}
    assert signals(delivery(runtime, token)) == (False, False, False)


def test_open_pixel_marks_opened_and_never_fails(client, runtime, customer):
    """/o/<token>.gif answers a transparent 1×1 GIF, uncached, and marks the message opened (not clicked)."""
    token = customer["tokens"]["email"]
    response = client.get(f"/o/{token}.gif")
    assert response.status_code == 200 and response.mimetype == "image/gif"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.data.startswith(b"GIF89a\x01\x00\x01\x00")
    record()
    first = delivery(runtime, token)
    assert signals(first) == (True, False, False)
    client.get(f"/o/{token}.gif")
    record()
    assert delivery(runtime, token).opened_at == first.opened_at
    unknown = client.get(f"/o/{secrets.token_urlsafe(16)}.gif")
    assert unknown.status_code == 200 and unknown.data == response.data


# ── opt-out links ──


def test_opt_out_page_asks_without_acting(client, runtime, customer):
    """GET /u/<token> shows a Japanese page naming the channel with a POST button; it changes nothing."""
    token = customer["tokens"]["email"]
    response = client.get(f"/u/{token}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert '<html lang="ja">' in page and "メール" in page
    assert f'<form method="post" action="/u/{token}">' in page
    assert channels(runtime, customer["id"]).email_permitted is True
    assert consent_events(runtime) == []


def test_opt_out_button_withdraws_the_channel_once(client, runtime, customer):
    """POST /u/<token> withdraws that channel's permission with one consent event; a second POST is harmless."""
    token = customer["tokens"]["email"]
    response = client.post(f"/u/{token}")
    assert response.status_code == 200
    assert "配信停止を受け付けました" in response.get_data(as_text=True)
    after = channels(runtime, customer["id"])
    assert (after.email_permitted, after.sms_permitted, after.line_permitted) == (False, True, True)
    expected = [(customer["id"], "email", False, "link:email")]
    assert consent_events(runtime) == expected
    again = client.post(f"/u/{token}")
    assert again.status_code == 200 and "配信停止を受け付けました" in again.get_data(as_text=True)
    assert consent_events(runtime) == expected


def test_one_click_unsubscribe_is_accepted(client, runtime, customer):
    """A mail client's RFC 8058 one-click POST (List-Unsubscribe=One-Click) opts out and answers 200."""
    token = customer["tokens"]["sms"]
    response = client.post(
        f"/u/{token}",
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert channels(runtime, customer["id"]).sms_permitted is False
    assert consent_events(runtime) == [(customer["id"], "sms", False, "link:sms")]


def test_opt_out_page_is_english_when_the_browser_prefers_it(client, runtime, customer):
    """Accept-Language preferring English gives the English page, with the channel named in English."""
    english = {"Accept-Language": "en-US,en;q=0.9,ja;q=0.5"}
    page = client.get(f"/u/{customer['tokens']['sms']}", headers=english).get_data(as_text=True)
    assert '<html lang="en">' in page and "by SMS" in page and "Stop messages" in page
    done = client.post(f"/u/{customer['tokens']['sms']}", headers=english).get_data(as_text=True)
    assert "You have been unsubscribed" in done


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_unknown_opt_out_token_is_a_404(client, runtime, customer, method):
    """An unknown or crafted opt-out token gets the 404 page (escaped, nothing reflected) and opts nobody out."""
    for token in (secrets.token_urlsafe(16), "<script>alert(1)</script>"):
        response = client.open(f"/u/{token}", method=method)
        page = response.get_data(as_text=True)
        assert response.status_code == 404 and NOT_FOUND_JA in page and "<script>" not in page
    assert consent_events(runtime) == []


# ── LINE postbacks, through signed webhooks and the worker ──


def processed(runtime) -> list[str]:
    with session_scope(runtime.engine) as session:
        return list(session.execute(select(WebhookEvent.status).order_by(WebhookEvent.id)).scalars())


def test_postback_with_token_records_the_tap(post_webhook, drain, runtime, customer):
    """`t=<token>` of the user's own LINE message marks it tapped and opened, at the time LINE reports."""
    uid, token = customer["line_user_id"], customer["tokens"]["line"]
    tapped = factories.postback(uid, data=f"t={token}&a=detail", timestamp=1_700_000_000_000)
    assert post_webhook(factories.body(tapped)).status_code == 200
    drain()
    row = delivery(runtime, token)
    assert signals(row) == (True, False, True)
    assert row.tapped_at.timestamp() == row.opened_at.timestamp() == 1_700_000_000
    assert processed(runtime) == [EventStatus.PROCESSED]


def test_postback_tap_counts_only_on_the_users_own_line_message(post_webhook, drain, runtime, customer):
    """A tap by another LINE user, or on a token of another channel, records nothing; the owner's tap does."""
    uid, email_token, line_token = (
        customer["line_user_id"],
        customer["tokens"]["email"],
        customer["tokens"]["line"],
    )
    post_webhook(
        factories.body(
            factories.postback(factories.user_id(), data=f"t={line_token}", timestamp=1_700_000_000_000),
            factories.postback(uid, data=f"t={email_token}", timestamp=1_700_000_001_000),
            factories.postback(uid, data=f"t={line_token}", timestamp=1_700_000_002_000),
        )
    )
    drain()
    assert signals(delivery(runtime, email_token)) == (False, False, False)
    assert delivery(runtime, line_token).tapped_at.timestamp() == 1_700_000_002
    assert processed(runtime) == [EventStatus.PROCESSED] * 3


def test_postback_optout_stops_marketing_on_line(post_webhook, drain, runtime, customer):
    """`a=optout` (配信停止) withdraws the customer's LINE permission once, with source line:postback."""
    uid, token = customer["line_user_id"], customer["tokens"]["line"]
    post_webhook(factories.body(factories.postback(uid, data=f"a=optout&t={token}")))
    post_webhook(factories.body(factories.postback(uid, data="a=optout")))
    drain()
    after = channels(runtime, customer["id"])
    assert (after.line_permitted, after.email_permitted, after.sms_permitted) == (False, True, True)
    assert consent_events(runtime) == [(customer["id"], "line", False, "line:postback")]
    assert processed(runtime) == [EventStatus.PROCESSED] * 2


def test_malformed_postback_data_is_processed_without_failure(post_webhook, drain, runtime, customer):
    """Data that is not ours (junk, NUL bytes, huge, repeated fields) is ignored; a later valid tap still counts."""
    uid, token = customer["line_user_id"], customer["tokens"]["line"]
    junk = ["%%%&&==", "t=\x00", "t=" + "x" * 400, "&".join(["t=a"] * 50), "a=%ff%fe", "action=menu", "="]
    events = [factories.postback(uid, data=data) for data in junk]
    events.append(factories.postback(uid, data=f"t={token}"))
    assert post_webhook(factories.body(*events)).status_code == 200
    drain()
    assert processed(runtime) == [EventStatus.PROCESSED] * len(events)
    assert signals(delivery(runtime, token)) == (True, False, True)
    assert consent_events(runtime) == []


def test_an_opt_out_link_keeps_its_message_as_evidence(client, runtime, customer):
    """The consent change of an opt-out link names the ledger row whose link was followed."""
    token = customer["tokens"]["sms"]
    assert client.post(f"/u/{token}").status_code == 200
    with session_scope(runtime.engine) as session:
        refs = session.execute(select(ConsentEvent.evidence_ref)).scalars().all()
    assert refs == [f"delivery:{delivery(runtime, token).id}"]
