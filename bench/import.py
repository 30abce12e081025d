"""Import speed and memory for a large 基本シナリオ配信用データ (F5) file, next to PostgreSQL's own COPY.

    .venv/bin/python bench/import.py                    # 1,000,000 rows, PostgreSQL and SQLite
    options: --rows 200000 --databases postgres --seed 1

The sample file is generated once (devtools.sample_data) and kept under var/bench/. Each import runs as
`flask import F5 FILE` in a fresh process on a fresh database, so peak RSS is that process's own.
COPY loads the same file's rows as text into an unindexed table: the floor for getting bytes into PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pg import libpq_url, temporary_database
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


def run_import(database_url: str, path: Path) -> tuple[float, float, str]:
    """(seconds, peak RSS in MB, first output line) of `flask import F5 path` in a child process of its own."""
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        LOG_LEVEL="WARNING",
        LOCAL_MODE="1",  # a laptop: the sample sender identity is fine (outside local mode `flask` refuses it)
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
    )
    output = path.with_suffix(".import.log")
    started = time.perf_counter()
    with open(output, "w") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "import", "F5", str(path)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        _, status, usage = os.wait4(child.pid, 0)  # this child's own peak RSS (KiB on Linux)
        child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    lines = output.read_text().strip().splitlines()
    if child.returncode != 0:
        raise SystemExit("import failed:\n" + "\n".join(lines[-20:]))
    return seconds, usage.ru_maxrss / 1024, lines[0] if lines else ""


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--databases", default="postgres,sqlite")
    args = parser.parse_args()
    path = sample_file(args.rows, args.seed)
    print(f"F5 file: {args.rows:,} rows, {path.stat().st_size / 1e6:.0f} MB; cores {os.cpu_count()}")
    for database in args.databases.split(","):
        with ExitStack() as stack:
            if database == "postgres":
                url = stack.enter_context(temporary_database())
            else:
                for stale in (ROOT / "var" / "bench").glob("import.db*"):
                    stale.unlink()
                url = f"sqlite:///{ROOT / 'var' / 'bench' / 'import.db'}"
                migrate.upgrade(url)
            seconds, peak, summary = run_import(url, path)
            print(
                f"  {database:8} import {args.rows / seconds:9,.0f} rows/s  ({seconds:.0f}s)  peak RSS {peak:.0f} MB"
                f"   [{summary}]"
            )
            if database == "postgres":
                floor = write_floor(url)
                total = sum(floor.values())
                parts = ", ".join(f"{name} {spent:.1f}s" for name, spent in floor.items())
                print(f"  postgres floor  {args.rows / total:9,.0f} rows/s  ({total:.0f}s: {parts})")
                print(
                    "                  (the same rows INSERT … SELECT into twins of the tables: server only)"
                )
    seconds = copy_baseline(path)
    print(
        f"  postgres COPY   {args.rows / seconds:9,.0f} rows/s  ({seconds:.1f}s)  (text into an unindexed table)"
    )
    print("  targets: >= 20,000 rows/s on PostgreSQL, <= 300 MB RSS")


if __name__ == "__main__":
    main()
