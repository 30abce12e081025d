"""A slow, hung or stopped database: the LINE webhook still answers within LINE's 2 seconds (503, so LINE
redelivers), the tracking links still redirect, serve the pixel and take opt-outs, and what they were told
is recorded exactly once by the worker's tick when the database is back. PostgreSQL is taken away through a
TCP proxy in front of the shared server (never by stopping the server)."""

from __future__ import annotations

import http.client
import logging
import secrets
import sqlite3
import threading
import time
from collections import Counter
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.serving import make_server

from bot.platform import runtime as runtime_module
from bot.platform.db import Timeouts, make_engine, session_scope
from models import ConsentEvent, Customer, CustomerChannels, Delivery, WebhookEvent
from tests import factories
from tests.conftest import CHANNEL_SECRET
from tests.tcp_proxy import TcpProxy

HOME = "https://www.example.jp/"
BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile Safari/604.1"
LINE_WAITS = 2.0  # seconds LINE waits for the webhook's answer
POSTGRES_ONLY = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)


@pytest.fixture
def proxy(database_url):
    with TcpProxy.before(database_url) as running:
        yield running


@pytest.fixture
def proxied(settings, proxy, database_url):
    """The service (web and worker in one runtime, as in the other tests) on PostgreSQL through the proxy."""
    from app import create_app
    from worker import build_worker_runtime

    built = build_worker_runtime(settings.model_copy(update={"database_url": proxy.url(database_url)}))
    yield built, create_app(runtime=built)
    built.dispose()
    runtime_module._current = None


def add_customer(engine) -> dict:
    """A customer permitted on email with one marketing email in the ledger (its token is the link's)."""
    now = datetime.now(UTC)
    token = secrets.token_urlsafe(16)
    with session_scope(engine) as session:
        person = Customer()
        session.add(person)
        session.flush()
        session.add(
            CustomerChannels(customer_id=person.id, email_main="taro@example.com", email_permitted=True)
        )
        session.add(
            Delivery(
                customer_id=person.id,
                step="A",
                template="x.a",
                channel="email",
                purpose="marketing",
                token=token,
                due_at=now,
                created_at=now,
            )
        )
    return {"id": person.id, "token": token}


def ledger_row(engine, token: str) -> Delivery:
    with session_scope(engine) as session:
        return session.execute(select(Delivery).where(Delivery.token == token)).scalar_one()


def consents(engine) -> list[tuple[int, str, bool, str]]:
    with session_scope(engine) as session:
        rows = session.execute(select(ConsentEvent).order_by(ConsentEvent.id)).scalars()
        return [(e.customer_id, e.channel, e.granted, e.source) for e in rows]


def stored_events(engine) -> int:
    with session_scope(engine) as session:
        return len(session.execute(select(WebhookEvent.id)).all())


def send_webhook(client, payload: bytes):
    headers = {
        "Content-Type": "application/json",
        "X-Line-Signature": factories.sign(payload, CHANNEL_SECRET),
    }
    started = time.monotonic()
    response = client.post("/callback", data=payload, headers=headers)
    return response.status_code, time.monotonic() - started


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def use_links(client, token: str) -> list[tuple[int, float]]:
    """What a customer does with the links of one email while the database is away: the pixel loads twice,
    two clicks, the opt-out page, its button, and a mail client's one-click POST."""
    visits = [
        lambda: client.get(f"/o/{token}.gif"),
        lambda: client.get(f"/o/{token}.gif"),
        lambda: client.get(f"/r/{token}", headers={"User-Agent": BROWSER}),
        lambda: client.get(f"/r/{token}/home", headers={"User-Agent": BROWSER}),
        lambda: client.get(f"/u/{token}"),
        lambda: client.post(f"/u/{token}"),
        lambda: client.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"}),
    ]
    answers = []
    for visit in visits:
        response, seconds = timed(visit)
        answers.append((response.status_code, seconds))
        if response.status_code == 302:
            assert response.headers["Location"] == HOME
        if "/o/" in response.request.path:
            assert response.mimetype == "image/gif"
    return answers


def assert_recorded_once(engine, customer: dict) -> None:
    row = ledger_row(engine, customer["token"])
    assert row.clicked_at is not None and row.opened_at is not None
    assert row.opened_at < row.clicked_at  # the times of the requests, not of the tick
    with session_scope(engine) as session:
        assert session.get(CustomerChannels, customer["id"]).email_permitted is False
    assert consents(engine) == [(customer["id"], "email", False, "link:email")]


def tick() -> dict:
    from bot.jobs.tasks import tick as run_tick

    return run_tick()


# ── a stopped database ──


@POSTGRES_ONLY
def test_links_work_while_postgres_is_down_and_are_recorded_once_when_it_is_back(
    proxied, proxy, runtime, caplog
):
    """PostgreSQL down (its proxy cut): redirect, pixel, opt-out page and one-click POST answer at once, the
    webhook answers 503; back up, one tick records one click, one open and one opt-out; a second tick nothing."""
    service, app = proxied
    customer = add_customer(runtime.engine)
    client = app.test_client()
    proxy.cut()
    caplog.set_level(logging.DEBUG)
    answers = use_links(client, customer["token"])
    assert [status for status, _ in answers] == [200, 200, 302, 302, 200, 200, 200]
    assert max(seconds for _, seconds in answers) < LINE_WAITS
    status, seconds = send_webhook(client, factories.body(factories.follow(factories.user_id())))
    assert status == 503 and seconds < LINE_WAITS
    assert customer["token"] not in caplog.text  # the token is a credential: never in a log line
    proxy.restore()
    runtime_module.install(service)
    assert tick()["tracking_signals"] == {"open": 1, "click": 1, "opt_out": 1, "unchanged": 3}
    assert_recorded_once(runtime.engine, customer)
    first = ledger_row(runtime.engine, customer["token"])
    assert tick()["tracking_signals"] == {}
    again = ledger_row(runtime.engine, customer["token"])
    assert (again.clicked_at, again.opened_at) == (first.clicked_at, first.opened_at)
    assert_recorded_once(runtime.engine, customer)


def test_links_work_with_database_and_redis_down_and_are_recorded_from_the_spool(
    settings, runtime, tmp_path, caplog
):
    """Database and Redis both unreachable for the web: the links still answer, their signals go to the spool
    under DATA_DIR, and the worker's tick on the same machine records each once."""
    from app import create_app
    from bot.platform.redis_conn import connect
    from bot.platform.runtime import Runtime

    customer = add_customer(runtime.engine)
    (tmp_path / "missing.db").mkdir()  # a directory where the database file should be: nothing opens it
    unreachable = f"sqlite:///{tmp_path / 'missing.db'}"
    if runtime.engine.dialect.name == "postgresql":
        unreachable = "postgresql+psycopg://nobody@127.0.0.1:9/none"  # nothing listens on the discard port
    dead_redis = connect("redis://127.0.0.1:9/0", timeout=0.5)
    web = Runtime(
        settings=settings,
        engine=make_engine(unreachable),
        redis=dead_redis,
        webhook_engine=make_engine(unreachable),
        quick_redis=dead_redis,
    )
    client = create_app(runtime=web).test_client()
    caplog.set_level(logging.DEBUG)
    answers = use_links(client, customer["token"])
    assert [status for status, _ in answers] == [200, 200, 302, 302, 200, 200, 200]
    assert max(seconds for _, seconds in answers) < LINE_WAITS
    assert (tmp_path / "tracking-spool.jsonl").stat().st_size > 0
    assert customer["token"] not in caplog.text
    assert tick()["tracking_signals"] == {"open": 1, "click": 1, "opt_out": 1, "unchanged": 3}
    assert (tmp_path / "tracking-spool.jsonl").stat().st_size == 0
    assert_recorded_once(runtime.engine, customer)
    assert tick()["tracking_signals"] == {}
    web.dispose()


# ── a hung database ──


@POSTGRES_ONLY
def test_a_hung_database_gets_a_503_within_lines_wait_and_links_still_answer(proxied, proxy, runtime):
    """PostgreSQL stops answering mid-connection (the proxy stops relaying): the webhook answers 503 before
    LINE gives up, and at once while its writer is stuck; links still answer; once it answers again, the
    webhook stores events again and the tick records the kept signals once."""
    service, app = proxied
    customer = add_customer(runtime.engine)
    client = app.test_client()
    assert send_webhook(client, factories.body(factories.follow(factories.user_id())))[0] == 200  # connected
    proxy.hang()
    first = send_webhook(client, factories.body(factories.follow(factories.user_id())))
    assert first[0] == 503 and first[1] < LINE_WAITS
    later = [send_webhook(client, factories.body(factories.follow(factories.user_id()))) for _ in range(5)]
    assert [status for status, _ in later] == [503] * 5
    # the writer is stuck: no request waits for it (but the first, if the writer's thread started its write
    # a moment after the first request began, has not been stuck for the whole time-out yet)
    assert max(seconds for _, seconds in later) < LINE_WAITS
    assert sum(seconds > 0.5 for _, seconds in later) <= 1
    answers = use_links(client, customer["token"])
    assert [status for status, _ in answers] == [200, 200, 302, 302, 200, 200, 200]
    assert max(seconds for _, seconds in answers) < LINE_WAITS
    proxy.resume()
    deadline = time.monotonic() + 10
    while send_webhook(client, factories.body(factories.follow(factories.user_id())))[0] != 200:
        assert time.monotonic() < deadline, "the webhook must store events again once the database answers"
        time.sleep(0.1)
    runtime_module.install(service)
    tick()
    assert_recorded_once(runtime.engine, customer)
    assert tick()["tracking_signals"] == {}


@POSTGRES_ONLY
def test_webhook_writer_gives_up_a_lock_wait_before_line_does(client, runtime, post_webhook, database_url):
    """A migration holding ACCESS EXCLUSIVE on webhook_events: the webhook answers 503 in time and its writer
    does not stay queued behind the lock (statement and lock time-outs on its own connection)."""
    plain = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain) as holder, psycopg.connect(plain, autocommit=True) as observer:
        holder.execute("LOCK TABLE webhook_events IN ACCESS EXCLUSIVE MODE")
        response, seconds = timed(lambda: post_webhook(factories.body(factories.follow(factories.user_id()))))
        assert response.status_code == 503 and seconds < LINE_WAITS
        time.sleep(1.0)  # past the writer's time-out (1.5 s from its start)
        waiting = observer.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        ).fetchone()[0]
        assert waiting == 0
        holder.rollback()
    assert post_webhook(factories.body(factories.follow(factories.user_id()))).status_code == 200
    assert stored_events(runtime.engine) == 1


# ── heavy link traffic ──


@POSTGRES_ONLY
def test_webhook_keeps_answering_while_links_are_hammered_on_a_locked_ledger(app, runtime):
    """Clicks, pixels and opt-out pages from eight threads while the ledger table is locked (a slow database
    for them): no link waits for the database and every webhook is stored and answered 200 in time."""
    customer = add_customer(runtime.engine)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_port
    stop = threading.Event()
    links: Counter[int] = Counter()
    slowest = [0.0]
    paths = [f"/r/{customer['token']}", f"/o/{customer['token']}.gif", f"/u/{customer['token']}"]

    def hammer(path: str) -> None:
        while not stop.is_set():
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            started = time.monotonic()
            connection.request("GET", path, headers={"User-Agent": BROWSER})
            links[connection.getresponse().status] += 1
            slowest[0] = max(slowest[0], time.monotonic() - started)
            connection.close()

    plain = runtime.settings.database_url.replace("postgresql+psycopg://", "postgresql://")
    webhooks = []
    with psycopg.connect(plain) as holder:
        holder.execute("LOCK TABLE deliveries IN ACCESS EXCLUSIVE MODE")
        threads = [threading.Thread(target=hammer, args=(paths[i % 3],), daemon=True) for i in range(8)]
        for thread in threads:
            thread.start()
        for _ in range(10):
            payload = factories.body(factories.follow(factories.user_id()))
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            started = time.monotonic()
            headers = {
                "Content-Type": "application/json",
                "X-Line-Signature": factories.sign(payload, CHANNEL_SECRET),
            }
            connection.request("POST", "/callback", body=payload, headers=headers)
            webhooks.append((connection.getresponse().status, time.monotonic() - started))
            connection.close()
            time.sleep(0.1)
        stop.set()
        holder.rollback()
        for thread in threads:
            thread.join(timeout=30)
    server.shutdown()
    assert [status for status, _ in webhooks] == [200] * 10
    assert max(seconds for _, seconds in webhooks) < LINE_WAITS
    assert set(links) <= {200, 302} and links[302] > 0 and links[200] > 0
    assert slowest[0] < LINE_WAITS
    assert stored_events(runtime.engine) == 10
    assert tick()["tracking_signals"]["click"] == 1
    row = ledger_row(runtime.engine, customer["token"])
    assert row.clicked_at is not None and row.opened_at is not None


# ── the engine's time-outs ──


def in_thread(call, wait: float) -> tuple[BaseException | None, float]:
    """Run `call` on a thread; its error (or None) and how long it took; fails if it outlives `wait`."""
    outcome: list = []

    def run() -> None:
        started = time.monotonic()
        try:
            call()
            outcome.append((None, time.monotonic() - started))
        except Exception as exc:  # noqa: BLE001 -- handed to the test
            outcome.append((exc, time.monotonic() - started))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(wait)
    assert outcome, f"still waiting after {wait} s"
    return outcome[0]


@POSTGRES_ONLY
def test_connecting_to_a_silent_server_gives_up_after_the_connect_timeout(proxy, database_url):
    """A server that accepts the connection and never answers: psycopg gives up after
    DATABASE_CONNECT_TIMEOUT (2 s here), not after its own 130 s."""
    proxy.hang()
    engine = make_engine(proxy.url(database_url), Timeouts(connect=2))
    error, seconds = in_thread(lambda: engine.connect().close(), wait=10)
    assert isinstance(error, OperationalError) and seconds < 4
    engine.dispose()


def test_a_full_pool_gives_up_after_the_pool_timeout(database_url):
    """Every pooled connection in use: the next caller is refused after DATABASE_POOL_TIMEOUT (SQLAlchemy's
    own default is 30 s)."""
    engine = make_engine(database_url, Timeouts(pool=0.5))
    held = []

    def exhaust() -> None:
        for _ in range(30):
            held.append(engine.connect())

    error, _ = in_thread(exhaust, wait=8)
    assert isinstance(error, PoolTimeout) and len(held) >= 5
    error, seconds = in_thread(lambda: engine.connect(), wait=8)
    assert isinstance(error, PoolTimeout) and seconds < 1.5
    for connection in held:
        connection.close()
    engine.dispose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_waits_for_another_writer_only_the_busy_timeout(database_url):
    """Another process holds SQLite's write lock: a write gives up after DATABASE_BUSY_TIMEOUT."""
    holder = sqlite3.connect(make_url(database_url).database)
    holder.execute("BEGIN IMMEDIATE")
    engine = make_engine(database_url, Timeouts(busy=0.5))

    def write() -> None:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM webhook_events"))

    error, seconds = in_thread(write, wait=8)
    holder.rollback()
    holder.close()
    assert isinstance(error, OperationalError) and "locked" in str(error) and seconds < 2
    engine.dispose()
