"""The chat's intent matcher (bot/chat/intents.py): how long it takes to read one customer message, and how often
it reads it right, on the labelled evaluation set the tests keep (tests/fixtures/intents_eval.yml) and on the
held-out set written after the matcher was tuned (tests/fixtures/intents_holdout.yml).

    .venv/bin/python bench/intents.py                     # every text of both sets, 20 rounds
    options: --rounds 50

Latency is the matcher's own (folding, n-gram scores, the typo check), per message, in this process, after the
one-off build from the locale files (timed apart). Accuracy is top-1 (`unknown` counts as right for the texts
labelled unknown); a wrong confident answer is a text answered with an intent it does not have (rather than
"not understood").
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

from bot.chat.intents import UNKNOWN, matcher

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    started = time.perf_counter()
    built = matcher()
    print(
        f"build (locale files → matcher, once per process): {(time.perf_counter() - started) * 1000:.0f} ms"
    )
    print(f"intents: {len(built.intents)}, examples: {len(built.labels)}, threshold {built.threshold}")
    texts: list[str] = []
    for name, path in SETS.items():
        if not path.exists():
            continue
        items = labelled(path)
        texts += [text for text, _ in items]
        accuracy, wrong = figures(items)
        print(
            f"{name} set: {len(items)} texts, top-1 accuracy {accuracy:.1%}, wrong confident answers {wrong:.1%}"
        )
    latencies: list[float] = []
    for _ in range(args.rounds):
        for text in texts:
            start = time.perf_counter_ns()
            built.match(text)
            latencies.append((time.perf_counter_ns() - start) / 1e6)
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(
        f"latency per message over {len(latencies)} matches: median {statistics.median(latencies):.3f} ms, "
        f"p99 {p99:.3f} ms, max {latencies[-1]:.3f} ms"
    )
    print(
        "reproduce: .venv/bin/python bench/intents.py"
        + (f" --rounds {args.rounds}" if args.rounds != 20 else "")
    )


if __name__ == "__main__":
    main()
