"""What every bench prints at its end: the median of each figure over its runs, then one line per goal of issue
#19, the measured figure next to the goal and whether it is met, e.g.

    import/floor                  31% (goal >= 70%)  not met

A goal is a ratio to a limit the same run measures (the database's floor, the bare client, bare Flask) or a
plain limit (MB, ms). A goal not met is a finding, not a failure: the bench still exits 0. A bench that cannot
finish exits non-zero with the reason (bench/deadline.py).
"""

from __future__ import annotations

import argparse
import math
import statistics
from dataclasses import dataclass

RUNS = 3  # runs per bench unless --runs says otherwise: the median of three shrugs off one noisy run


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """--runs N and --smoke (a few rows or requests, seconds in all: proves the bench still runs)."""
    parser.add_argument("--runs", type=int, default=RUNS, help=f"measurements to take the median of ({RUNS})")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes that run in seconds (tests/integration/test_bench_smoke.py)",
    )


class Runs:
    """Each run's figures by name, kept in the order first added, and their medians."""

    def __init__(self) -> None:
        self._values: dict[str, list[float]] = {}
        self._formats: dict[str, str] = {}

    def add(self, name: str, value: float, fmt: str = "{:,.0f}") -> None:
        """One run's `value` of the figure `name`, shown with `fmt` (a str.format pattern with its unit)."""
        self._values.setdefault(name, []).append(value)
        self._formats.setdefault(name, fmt)

    def median(self, name: str) -> float:
        return statistics.median(self._values[name])

    def print_medians(self) -> None:
        runs = max(len(values) for values in self._values.values())
        print(f"\nmedians of {runs} run(s)")
        for name, values in self._values.items():
            print(f"  {name:<44} {self._formats[name].format(statistics.median(values))}")


@dataclass(frozen=True)
class Goal:
    """A figure against its goal: `measured` must be `op` (">=" or "<=") `limit`; both shown with `fmt`."""

    name: str
    measured: float
    op: str
    limit: float
    fmt: str = "{:,.0f}"

    @property
    def met(self) -> bool:
        if math.isnan(self.measured):  # nothing measured meets no goal
            return False
        return self.measured >= self.limit if self.op == ">=" else self.measured <= self.limit

    def line(self) -> str:
        measured, limit = self.fmt.format(self.measured), self.fmt.format(self.limit)
        verdict = "met" if self.met else "not met"
        return f"  {self.name:<34} {measured:>10} (goal {self.op} {limit})  {verdict}"


def print_goals(*goals: Goal) -> None:
    print("\ngoals")
    for goal in goals:
        print(goal.line())


def print_no_goal(explains: str) -> None:
    """For a bench that issue #19 sets no goal for: say so, and what it is for, where the goal lines would be."""
    print(f"\ngoals\n  none set for this bench: {explains}")
