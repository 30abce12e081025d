"""`make demo`: the service doing its job on sample data, a few simulated days through the real scheduler.

It writes the insurer's sample files F1–F7 (`devtools/sample_data.py`) and a small cast of customers, imports them
with the real importer, creates the benefit coupon campaigns, then runs the worker's periodic tick
(`bot.jobs.tasks.tick`) every 30 simulated minutes; the send jobs each tick queues run at that simulated moment, to the
in-process LINE emulator, the local SMS outbox and the local mail folder. Before the first simulated day the
imported customers get a dated past (devtools/demo_history.py: LINE follows, links, consents, app use over the
weeks before), and during the days the SMS gateway's delivery receipts arrive, so the dashboard shows trends,
carriers and costs whose figures agree with each other. On the way the cast do what customers do: a prospect
signs a contract (the next F2 file says so), a friend blocks the LINE account, a reader opens an email. The
timeline is then read back from the ledger, the enrollments and the trace, in Japanese and English.

    python -m devtools.demo            # what `make demo` does: DATA_DIR (var/) is left for `make run` to show
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session

from bot.platform.i18n import text
from devtools.demo_history import deliver_receipts, write_history
from devtools.demo_timeline import (
    CODES,
    LOCALES,
    Demo,
    Entry,
    entry_texts,
    read_summary,
    read_timeline,
    render,
)
from flows.engine import TOKYO, japan_day
from models import Customer, Delivery, utcnow

TICK = timedelta(minutes=30)
LINE_IDS = {code: "U" + f"de{n:030x}" for n, code in enumerate(CODES, start=1)}
POPULATION = {"F5": 400, "F1": 240, "F2": 240, "F3": 120, "F4": 400, "F6": 160, "F7": 160}


def _cast_files(directory: Path, day: date) -> dict[str, list[dict[str, str]]]:
    """The cast: 佐藤 (a quote, then a contract), 鈴木 (a brochure, then a block), 高橋 (a store visit booked,
    e-mail only) and 田中 (a renewal coming up), as rows of the insurer's files with English headers."""
    ymd = lambda offset: (day + timedelta(days=offset)).strftime("%Y/%m/%d")
    base = {"email_permitted": "真", "line_permitted": "偽", "sms_permitted": "偽"}
    people = [
        ("DEMO0001", "佐藤", "健", {"line_user_id": LINE_IDS["DEMO0001"], "line_permitted": "真"}),
        ("DEMO0002", "鈴木", "花子", {"line_user_id": LINE_IDS["DEMO0002"], "line_permitted": "真",
                                      "sms_phone": "090-9000-0002", "sms_permitted": "真"}),
        ("DEMO0003", "高橋", "翔", {}),
        ("DEMO0004", "田中", "美咲", {"line_user_id": LINE_IDS["DEMO0004"], "line_permitted": "真",
                                      "contracted": "真", "contract_status": "契約中",
                                      "first_contract_start_on": ymd(-334), "next_renewal_on": ymd(31)}),
    ]  # fmt: skip
    keys = ("line_user_id", "sms_phone", "contracted", "contract_status", "first_contract_start_on")
    f5 = [
        {"customer_id": code, "family_name": family, "given_name": given, "email_acquired": "真",
         "email_main": f"{code.lower()}@example.com", **base, **{k: "" for k in (*keys, "next_renewal_on")},
         **extra}
        for code, family, given, extra in people
    ]  # fmt: skip
    return {
        "F5": f5,
        "F1": [{"document_request_id": "DR-DEMO0002", "email_main": "demo0002@example.com", "email_permitted": "真",
                "document_name": "自動車保険パンフレット", "requested_on": ymd(-1), "contracted": "偽"}],
        "F2": [{"quote_id": "QT-DEMO0001", "email_main": "demo0001@example.com", "email_permitted": "真",
                "product_name": "ネット自動車保険", "quoted_on": ymd(-1), "contracted": "偽"}],
        "F3": [{"reservation_id": "RV-DEMO0003", "email_main": "demo0003@example.com", "email_permitted": "真",
                "reserved_on": ymd(-2), "visit_on": ymd(7), "store_id": "S01", "store_name": "新宿西口店",
                "consultation": "自動車保険の見直し"}],
    }  # fmt: skip


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _import(runtime: Any, kind: str, path: Path) -> int:
    from bot.imports.files import find_spec
    from bot.imports.runner import import_file

    report = import_file(runtime.engine, find_spec(kind), path)
    if not report.committed:
        raise RuntimeError("\n".join(report.lines()))
    return report.rows


def write_files(directory: Path, first: date, today: date, population: int) -> list[tuple[str, Path]]:
    """(kind, path) of the files the demo imports, in order: its sample customers' as of `today` (F5 first: the
    other files' rows join its customers), then the cast's. The sample customers are the DEMO base's, so sample
    files written and imported later (the SAMPLE base's) never change them."""
    from devtools.sample_data import DEMO, write_csv

    directory.mkdir(parents=True, exist_ok=True)
    files = []
    scale = population / POPULATION["F5"]
    for kind, rows in POPULATION.items():
        path = directory / f"sample_{kind.lower()}.csv"
        count = max(1, int(rows * scale))
        write_csv(kind, path, count, seed=9, today=today, customers=population, base=DEMO)
        files.append((kind, path))
    for kind, rows in _cast_files(directory, first).items():
        files.append((kind, _write(directory / f"cast_{kind.lower()}.csv", rows)))
    return files


def load_files(runtime: Any, directory: Path, first: date, today: date, population: int) -> dict[str, int]:
    """Write the demo's files and import them all: {file name: rows imported}."""
    files = write_files(directory, first, today, population)
    return {path.name: _import(runtime, kind, path) for kind, path in files}


def create_campaigns(runtime: Any) -> None:
    """The benefit campaigns (BENEFIT_CAMPAIGNS) the chat grants coupons from: ID連携 in the simulator gives one."""
    from bot.offers.coupons import create_campaign

    locale = runtime.settings.default_locale
    with runtime.engine.begin() as connection:
        for reason, code in runtime.settings.benefit_campaigns.items():
            title, benefit = (text(f"demo.campaign.{reason}.{part}", locale) for part in ("title", "benefit"))
            create_campaign(connection, code, utcnow(), title=title, benefit=benefit, valid_days=30)


class _Cast:
    """What the cast do between ticks: through the importer, and the same core calls as the event handlers and
    the tracking pixel (a bot module composes no web app nor worker: tests/unit/test_layout.py)."""

    def __init__(self, runtime: Any, directory: Path, first: date) -> None:
        self.runtime, self.directory, self.first = runtime, directory, first
        self.plan = [(1, 8, self.opens_email), (1, 9, self.signs), (1, 12, self.blocks)]
        self.entries: list[Entry] = []

    def act(self, moment: datetime) -> None:
        while self.plan:
            offset, hour, action = self.plan[0]
            due = datetime.combine(self.first + timedelta(days=offset), time(hour), TOKYO)
            if due > moment:
                return
            self.plan.pop(0)
            self.entries.append(action(due))

    def signs(self, at: datetime) -> Entry:
        """The next morning's F2 file says the quote was contracted (契約フラグ = 真)."""
        row = _cast_files(self.directory, self.first)["F2"][0] | {"contracted": "真"}
        _import(self.runtime, "F2", _write(self.directory / "cast_f2_next_day.csv", [row]))
        return Entry(at, "DEMO0001", "story", entry_texts("story.contract", code=row["quote_id"]))

    def blocks(self, at: datetime) -> Entry:
        """LINE's unfollow, as its handler records it: the friend blocked, LINE consent withdrawn."""
        from bot.chat.reachability import record_unfollow
        from bot.delivery.consent import BLOCKED_SOURCE, Evidence, customers_on_line, opt_out
        from flows.dsl import Channel

        with Session(self.runtime.engine) as session:
            record_unfollow(session, LINE_IDS["DEMO0002"], at, utcnow())
            for customer_id in customers_on_line(session.connection(), LINE_IDS["DEMO0002"]):
                demo = Evidence(ref="demo:block")  # a replayed story, not a LINE event
                opt_out(session.connection(), customer_id, Channel.LINE, BLOCKED_SOURCE, at, demo)
            session.commit()
        return Entry(at, "DEMO0002", "story", entry_texts("story.block"))

    def opens_email(self, at: datetime) -> Entry:
        """The reservation reminder is opened (what its open pixel records)."""
        with self.runtime.engine.begin() as connection:
            cast = select(Customer.id).where(Customer.customer_code == "DEMO0003").scalar_subquery()
            connection.execute(
                update(Delivery)
                .where(
                    Delivery.customer_id == cast, Delivery.channel == "email", Delivery.opened_at.is_(None)
                )
                .values(opened_at=at, updated_at=utcnow())
            )
        return Entry(at, "DEMO0003", "story", entry_texts("story.open"))


def send_due_jobs(runtime: Any, moment: datetime) -> int:
    """Run the send jobs the tick queued, as a worker would, with the simulated moment as the clock."""
    from rq import Queue

    from bot.delivery.sending import send_batch
    from bot.jobs.queues import SENDS
    from flows.dsl import Channel

    ran = 0
    for job in Queue(SENDS, connection=runtime.redis).get_jobs():
        channel, ids, claim = job.args
        send_batch(
            runtime.engine, runtime.redis, runtime.settings, Channel(channel), ids, claim, lambda: moment
        )
        job.delete()
        ran += 1
    return ran


def run_demo(runtime: Any, now: datetime, directory: Path, days: int = 4, population: int = 400) -> Demo:
    """Load the files and run the days before `now` through the tick (or, if the demo ran on this database
    before, only read its timeline back)."""
    from bot.jobs import tasks as jobs

    last = japan_day(now)
    first = last - timedelta(days=days)
    demo = Demo(first, last)
    with runtime.engine.connect() as connection:
        loaded = connection.execute(select(Customer.id).where(Customer.customer_code == CODES[0])).first()
    if loaded:
        demo.replayed = True
    else:
        demo.files = load_files(runtime, directory, first, last, population)
        create_campaigns(runtime)
        demo.history = write_history(runtime, first, cast=frozenset(LINE_IDS.values()))
        cast = _Cast(runtime, directory, first)
        moment = datetime.combine(first, datetime.min.time(), TOKYO)
        while moment <= now:
            cast.act(moment)
            jobs.tick(moment.isoformat())
            send_due_jobs(runtime, moment)
            demo.history.receipts += deliver_receipts(runtime, moment, frozenset(CODES))
            moment += TICK
        demo.entries = cast.entries
    read, demo.names = read_timeline(runtime)
    last_word = ("converted", "exit")  # what happened at a moment first, how the scenario ended last
    demo.entries = sorted(demo.entries + read, key=lambda e: (e.at, e.kind in last_word, e.who))
    if demo.replayed and demo.entries:  # the days it replayed then, not the days before now
        demo.first, demo.last = (japan_day(e.at) for e in (demo.entries[0], demo.entries[-1]))
    demo.summary = read_summary(runtime)
    return demo


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=4, help="simulated days before now (default 4)")
    parser.add_argument("--population", type=int, default=400, help="sample customers (default 400)")
    parser.add_argument("--locale", choices=(*LOCALES, "both"), default="both")
    args = parser.parse_args(argv)
    os.environ.setdefault("LOG_LEVEL", "WARNING")  # the timeline, not the send jobs' log lines

    from rq import Worker

    from bot.platform import migrate
    from bot.platform import runtime as runtime_module
    from bot.platform.config import load_settings
    from bot.platform.i18n import configure_i18n
    from bot.platform.logs import configure_logging
    from devtools.line_emulator import LineEmulator
    from devtools.local import local_environment, local_redis

    env = local_environment()
    data_dir = Path(env.get("DATA_DIR", "var"))
    # everything it starts (the emulator, an embedded Redis) stops on the way out, whatever happened
    with (
        LineEmulator(channel_access_token=env["LINE_CHANNEL_ACCESS_TOKEN"]) as line,
        local_redis(env, data_dir) as redis_url,
    ):
        settings = load_settings(
            data_dir=data_dir,
            redis_url=redis_url,
            line_channel_secret=env["LINE_CHANNEL_SECRET"],
            line_channel_access_token=env["LINE_CHANNEL_ACCESS_TOKEN"],
            public_base_url=env["PUBLIC_BASE_URL"],
            line_api_base_url=line.base_url,  # never the real LINE: the emulator in this process
        )
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        migrate.upgrade(settings.effective_database_url)
        configure_logging()
        configure_i18n(settings.default_locale)
        runtime = runtime_module.build_runtime(settings)
        runtime_module.install(runtime)  # the tick's jobs (bot.jobs.tasks) run on it
        try:
            # `make run`'s worker would send on the real clock meanwhile
            if Worker.all(connection=runtime.redis):
                print(text("demo.busy", settings.default_locale), file=sys.stderr)
                return 1
            demo = run_demo(runtime, utcnow(), settings.data_dir / "demo", args.days, args.population)
            locales = LOCALES if args.locale == "both" else (args.locale,)
            print("\n".join(render(demo, locales, settings.data_dir)), flush=True)
        finally:
            runtime.dispose()  # its Redis connections too: the embedded server stops only once none is open
    return 0


if __name__ == "__main__":
    sys.exit(main())
