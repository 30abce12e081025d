"""Every bench script still runs: each at its smoke size, as a subprocess with a time limit, on the tests'
PostgreSQL server and Redis, exits 0 and prints its medians and a line per goal. What the figures are is not
asserted (benches print speed, tests never assert it), only that they were printed, so a bench cannot rot
between the times someone runs it at full size.

The benches that use Redis run one after the other (each flushes it); the others start together with the first
test and run beside them, which halves the module's wall time on two cores.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import DEFAULT_POSTGRES

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 180  # seconds for one bench at its smoke size on a busy machine; a hung bench fails here

# script, its arguments, and lines its output must hold: the figures' names and the goals' names.
# --runs 1 where a run starts processes; the in-process benches keep the default three runs. The benches with
# Redis come first: the others run beside them meanwhile.
BENCHES = {
    "webhook": (
        ["bench/webhook.py", "--smoke", "--runs", "2"],
        ["app durable acks/s per 2 cores", "app / bare Flask (req/s)", "app p99 at 500 req/s",
         "webhook/durable acks per 2 cores", "webhook/p99 at 500 req/s", "events stored"],
    ),
    "webhook_cpu": (
        ["bench/webhook_cpu.py", "--smoke"],
        ["medians of 3 run(s)", "full: CPU per request", "redis-first: CPU per request", "none set for this bench"],
    ),
    "send": (
        ["bench/send.py", "--smoke", "--runs", "1"],
        ["batched jobs, pushes/s", "bare client CPU a push", "worker CPU / bare client CPU",
         "send/worker CPU vs bare client", "send/batched vs one job each", "broadcast to 600 friends"],
    ),
    "dyno": (
        ["bench/dyno.py", "--smoke", "--runs", "1"],
        ["web boot", "worker boot", "web RSS peak under webhooks", "worker RSS peak processing them",
         "platform/web boot", "platform/worker RSS under load"],
    ),
    "chat": (
        ["bench/chat.py", "--smoke", "--runs", "1"],
        ["idle: answer latency median", "behind the backlog: answer latency p95", "none set for this bench"],
    ),
    "import": (
        ["bench/import.py", "--smoke", "--runs", "1", "--databases", "postgres"],
        ["postgres import rows/s", "postgres floor rows/s", "postgres import / floor", "import/floor",
         "import/peak RSS (postgres)"],
    ),
    "intents": (
        ["bench/intents.py", "--smoke"],
        ["medians of 3 run(s)", "latency per message: p99", "intents/accuracy (evaluation)",
         "intents/wrong confident"],
    ),
    "engine": (
        ["bench/engine.py", "--smoke", "--runs", "1"],
        ["daily evaluation", "floor", "engine/daily evaluation 1M", "engine/advanced vs floor"],
    ),
}  # fmt: skip


WITHOUT_REDIS = ("import", "intents", "engine")  # their figures come from PostgreSQL or memory alone


class Bench:
    """One bench script running as a subprocess, its output in files (a full pipe would stall it)."""

    def __init__(self, name: str, env: dict[str, str], folder: Path) -> None:
        self.name = name
        self.stdout, self.stderr = folder / f"{name}.out", folder / f"{name}.err"
        with open(self.stdout, "w") as out, open(self.stderr, "w") as err:
            self.process = subprocess.Popen(
                [sys.executable, *BENCHES[name][0]], cwd=ROOT, env=env, stdout=out, stderr=err
            )

    def finish(self) -> str:
        """Its output once it has ended; the test fails if it runs past TIMEOUT or exits non-zero."""
        try:
            self.process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"{self.name} still running after {TIMEOUT} s:\n{self.output()}")
        assert self.process.returncode == 0, f"{self.name} exited {self.process.returncode}:\n{self.output()}"
        return self.stdout.read_text()

    def output(self) -> str:
        return self.stdout.read_text() + "\n" + self.stderr.read_text()


@pytest.fixture(scope="module")
def bench_env(redis_server_url: str) -> dict[str, str]:
    """The benches' environment: the tests' PostgreSQL server and Redis (the db tests flush anyway)."""
    postgres = os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    if postgres == "off":
        pytest.skip("TEST_POSTGRES_URL=off: the benches run on PostgreSQL")
    return os.environ | {
        "BENCH_POSTGRES_URL": postgres,
        "BENCH_REDIS_URL": redis_server_url,
        "PYTHONPATH": str(ROOT),
    }


@pytest.fixture(scope="module")
def started_beside(
    bench_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Bench]]:
    """The benches without Redis, started at once to run beside the others; none is left running after."""
    folder = tmp_path_factory.mktemp("benches")
    benches = {name: Bench(name, bench_env, folder) for name in WITHOUT_REDIS}
    yield benches
    for bench in benches.values():
        if bench.process.poll() is None:
            bench.process.kill()
            bench.process.wait()


@pytest.mark.postgres
@pytest.mark.parametrize("bench", list(BENCHES))
def test_bench_runs_at_its_smoke_size_and_prints_its_goals(
    bench: str, bench_env: dict[str, str], started_beside: dict[str, Bench], tmp_path: Path
) -> None:
    """The bench exits 0 within its time limit and prints its medians and goal lines."""
    running = started_beside.get(bench) or Bench(bench, bench_env, tmp_path)
    stdout = running.finish()
    missing = [line for line in BENCHES[bench][1] if line not in stdout]
    assert not missing, f"{bench} did not print {missing}:\n{stdout}"
    assert "medians of" in stdout and "\ngoals\n" in stdout
