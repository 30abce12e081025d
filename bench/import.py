"""Import speed and memory for a large 基本シナリオ配信用データ (F5) file, as a share of the database's own floor.

    .venv/bin/python bench/import.py                    # 1,000,000 rows, PostgreSQL and SQLite, 3 runs
    .venv/bin/python bench/import.py --rows 100000      # the issue's other size
    .venv/bin/python bench/import.py --smoke            # 300 rows: proves it runs
    options: --runs 3 --databases postgres --seed 1

The sample file is generated once (devtools.sample_data) and kept under var/bench/. Each run imports it as
`flask import F5 FILE` in a fresh process on a fresh database, so peak RSS is that process's own. The floor is
the same rows written by the server alone into twins of the tables (see write_floor); the goal is the import's
rows/s >= 70% of it, and <= 300 MB peak RSS. The goal counts the command's whole run, start-up included (a few
seconds of Python imports, whatever the file's size); the import's own time, as `flask import` reports it, is
printed beside it. COPY of the file as text into an unindexed table is printed too:
the floor for getting bytes into PostgreSQL at all. PostgreSQL from BENCH_POSTGRES_URL, Redis from
BENCH_REDIS_URL.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.deadline import stop
from bench.pg import libpq_url, temporary_database
from bench.report import Goal, Runs, add_run_options, print_goals
from bot.platform import migrate
from devtools.sample_data import FILE_KINDS, write_csv


def sample_file(rows: int, seed: int) -> Path:
    path = ROOT / "var" / "bench" / f"f5_{rows}_{seed}.csv"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        write_csv("F5", path, rows, seed=seed)
        print(
            f"generated {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.0f}s"
        )
    return path


IMPORT_SECONDS = 120  # the least time an import is given before the bench gives up on it ...
SLOWEST_ROWS_PER_SECOND = 500  # ... or longer for a big file: a fortieth of the importer's speed today


def run_import(database_url: str, path: Path, rows: int) -> tuple[float, float, float, str]:
    """(seconds, the import's own seconds as it reports them, peak RSS in MB, first output line) of `flask import
    F5 path` in a child process of its own; the difference of the two times is the command's start-up."""
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        LOG_LEVEL="WARNING",
        LOCAL_MODE="1",  # a laptop: the sample sender identity is fine (outside local mode `flask` refuses it)
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
    )
    output = path.with_suffix(".import.log")
    allowed = max(IMPORT_SECONDS, rows / SLOWEST_ROWS_PER_SECOND)
    started = time.perf_counter()
    with open(output, "w") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "import", "F5", str(path)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        # wait4 gives this child's own peak RSS (KiB on Linux); polled, so a stuck import meets the deadline
        while (waited := os.wait4(child.pid, os.WNOHANG))[0] == 0:
            if time.perf_counter() - started > allowed:
                stop(child)
                raise SystemExit(f"bench: flask import still running after {allowed:.0f} s; killed it")
            time.sleep(0.05)
        _, status, usage = waited
        child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    lines = output.read_text().strip().splitlines()
    if child.returncode != 0:
        raise SystemExit("import failed:\n" + "\n".join(lines[-20:]))
    own = re.search(r"^[\d,]+ rows? in ([\d.]+) s", "\n".join(lines), re.MULTILINE)
    if own is None:
        raise SystemExit("bench: `flask import` did not say how long it took:\n" + "\n".join(lines[-5:]))
    return seconds, float(own.group(1)), usage.ru_maxrss / 1024, lines[0] if lines else ""


def copy_baseline(path: Path) -> float:
    """Seconds for COPY of the file's rows as text (header skipped) into an unindexed 49-column table."""
    with temporary_database(migrated=False) as url, psycopg.connect(libpq_url(url), autocommit=True) as conn:
        columns = ", ".join(f"c{i} text" for i in range(len(FILE_KINDS["F5"])))
        conn.execute(f"CREATE TABLE f5_raw ({columns})")
        started = time.perf_counter()
        with (
            conn.cursor().copy("COPY f5_raw FROM STDIN (FORMAT csv, HEADER true)") as copy,
            open(path, "rb") as f,
        ):
            while chunk := f.read(1 << 20):
                copy.write(chunk)
        return time.perf_counter() - started


WRITTEN_TABLES = (
    "customers",
    "customer_channels",
    "customer_activity",
    "contract_summaries",
    "consent_events",
)


def write_floor(url: str) -> dict[str, float]:
    """Seconds the database alone needs to write what the import wrote, per table: no parsing, no client.

    Each imported table is copied with INSERT … SELECT into an empty twin with the same columns, indexes,
    constraints and foreign keys (LIKE … INCLUDING ALL, plus the reference to the twin of `customers`), in one
    transaction as the import does. No importer that keeps this schema can write faster than this.
    """
    seconds: dict[str, float] = {}
    with psycopg.connect(libpq_url(url)) as conn:
        for table in WRITTEN_TABLES:
            conn.execute(f"CREATE TABLE floor_{table} (LIKE {table} INCLUDING ALL)")
            if table != "customers":
                conn.execute(
                    f"ALTER TABLE floor_{table} ADD FOREIGN KEY (customer_id) REFERENCES floor_customers (id)"
                )
        conn.commit()
        for table in WRITTEN_TABLES:
            started = time.perf_counter()
            conn.execute(f"INSERT INTO floor_{table} SELECT * FROM {table}")
            seconds[table] = time.perf_counter() - started
        started = time.perf_counter()
        conn.commit()
        seconds["commit"] = time.perf_counter() - started
    return seconds


def fresh_sqlite_url() -> str:
    for stale in (ROOT / "var" / "bench").glob("import.db*"):
        stale.unlink()
    url = f"sqlite:///{ROOT / 'var' / 'bench' / 'import.db'}"
    migrate.upgrade(url)
    return url


def measure(database: str, path: Path, rows: int, runs: Runs) -> None:
    """One run on `database`: the import into a fresh database, and on PostgreSQL the floor of the same rows."""
    with ExitStack() as stack:
        url = stack.enter_context(temporary_database()) if database == "postgres" else fresh_sqlite_url()
        seconds, own, peak, summary = run_import(url, path, rows)
        print(
            f"  {database:8} import {rows / seconds:9,.0f} rows/s  ({seconds:.1f}s, of which {seconds - own:.1f}s"
            f" the command's start-up)  peak RSS {peak:.0f} MB   [{summary}]"
        )
        runs.add(f"{database} import rows/s", rows / seconds, "{:,.0f} rows/s")
        runs.add(f"{database} import rows/s after start-up", rows / own, "{:,.0f} rows/s")
        runs.add(f"{database} import peak RSS", peak, "{:,.0f} MB")
        if database == "postgres":
            floor = write_floor(url)
            total = sum(floor.values())
            parts = ", ".join(f"{name} {spent:.2f}s" for name, spent in floor.items())
            print(f"  postgres floor  {rows / total:9,.0f} rows/s  ({total:.1f}s: {parts})")
            runs.add("postgres floor rows/s (server only)", rows / total, "{:,.0f} rows/s")
            runs.add("postgres import / floor", total / seconds, "{:.0%}")
            runs.add("postgres import after start-up / floor", total / own, "{:.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--databases", default="postgres,sqlite")
    add_run_options(parser)
    args = parser.parse_args()
    rows = 300 if args.smoke else args.rows
    databases = args.databases.split(",")
    path = sample_file(rows, args.seed)
    print(
        f"F5 file: {rows:,} rows, {path.stat().st_size / 1e6:.1f} MB; {args.runs} run(s); cores {os.cpu_count()}"
    )
    runs = Runs()
    for run in range(1, args.runs + 1):
        print(f"run {run}:")
        for database in databases:
            measure(database, path, rows, runs)
        seconds = copy_baseline(path)
        print(
            f"  postgres COPY   {rows / seconds:9,.0f} rows/s  ({seconds:.2f}s)  (text into an unindexed table)"
        )
        runs.add("postgres COPY rows/s (text, unindexed)", rows / seconds, "{:,.0f} rows/s")
    runs.print_medians()
    goals = []
    if "postgres" in databases:
        goals.append(Goal("import/floor", runs.median("postgres import / floor"), ">=", 0.70, "{:.0%}"))
    goals += [
        Goal(
            f"import/peak RSS ({database})",
            runs.median(f"{database} import peak RSS"),
            "<=",
            300,
            "{:,.0f} MB",
        )
        for database in databases
    ]
    print_goals(*goals)


if __name__ == "__main__":
    main()
