"""The chat's intent matcher (bot/chat/intents.py): how long it takes to read one customer message, and how often
it reads it right, on the labelled evaluation set the tests keep (tests/fixtures/intents_eval.yml) and on the
held-out set written after the matcher was tuned (tests/fixtures/intents_holdout.yml).

    .venv/bin/python bench/intents.py                     # every text of both sets, 20 rounds, 3 runs
    .venv/bin/python bench/intents.py --smoke             # one round
    options: --rounds 50 --runs 3

Latency is the matcher's own (folding, n-gram scores, the typo check), per message, in this process, after the
one-off build from the locale files (timed apart). Accuracy is top-1 (`unknown` counts as right for the texts
labelled unknown); a wrong confident answer is a text answered with an intent it does not have (rather than
"not understood"). The goals are the floors tests/unit/test_intents.py holds the evaluation set to; each run
times every round again, and the medians of the runs' median and p99 latencies are reported.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import Goal, Runs, add_run_options, print_goals
from bot.chat.intents import UNKNOWN, matcher
from tests.unit.test_intents import ACCURACY_FLOOR, WRONG_CONFIDENT_CEILING

SETS = {
    "evaluation": ROOT / "tests" / "fixtures" / "intents_eval.yml",
    "held-out": ROOT / "tests" / "fixtures" / "intents_holdout.yml",
}


def labelled(path: Path) -> list[tuple[str, str]]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [(str(text), intent) for intent, texts in document.items() for text in texts]


def figures(items: list[tuple[str, str]]) -> tuple[float, float]:
    right = sum(matcher().match(text).intent == intent for text, intent in items)
    wrong = sum(matcher().match(text).intent not in (intent, UNKNOWN) for text, intent in items)
    return right / len(items), wrong / len(items)


def time_matches(texts: list[str], rounds: int) -> list[float]:
    """Milliseconds of each match, every text `rounds` times, sorted."""
    built, latencies = matcher(), []
    for _ in range(rounds):
        for text in texts:
            start = time.perf_counter_ns()
            built.match(text)
            latencies.append((time.perf_counter_ns() - start) / 1e6)
    return sorted(latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    add_run_options(parser)
    args = parser.parse_args()
    rounds = 1 if args.smoke else args.rounds
    started = time.perf_counter()
    built = matcher()
    print(
        f"build (locale files → matcher, once per process): {(time.perf_counter() - started) * 1000:.0f} ms"
    )
    print(f"intents: {len(built.intents)}, examples: {len(built.labels)}, threshold {built.threshold}")
    runs = Runs()
    texts: list[str] = []
    for name, path in SETS.items():
        if not path.exists():
            continue
        items = labelled(path)
        texts += [text for text, _ in items]
        accuracy, wrong = figures(items)  # the matcher is deterministic: one reading is every run's
        print(
            f"{name} set: {len(items)} texts, top-1 accuracy {accuracy:.1%}, wrong confident answers {wrong:.1%}"
        )
        runs.add(f"{name} set: top-1 accuracy", accuracy, "{:.1%}")
        runs.add(f"{name} set: wrong confident answers", wrong, "{:.1%}")
    for run in range(1, args.runs + 1):
        latencies = time_matches(texts, rounds)
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(
            f"run {run}: latency per message over {len(latencies)} matches: median"
            f" {statistics.median(latencies):.3f} ms, p99 {p99:.3f} ms, max {latencies[-1]:.3f} ms"
        )
        runs.add("latency per message: median", statistics.median(latencies), "{:.3f} ms")
        runs.add("latency per message: p99", p99, "{:.3f} ms")
    runs.print_medians()
    print_goals(
        Goal(
            "intents/accuracy (evaluation)",
            runs.median("evaluation set: top-1 accuracy"),
            ">=",
            ACCURACY_FLOOR,
            "{:.1%}",
        ),
        Goal(
            "intents/wrong confident",
            runs.median("evaluation set: wrong confident answers"),
            "<=",
            WRONG_CONFIDENT_CEILING,
            "{:.1%}",
        ),
    )


if __name__ == "__main__":
    main()
