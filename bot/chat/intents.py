"""What a customer means by a text they typed (意図理解): the intent behind 「解約したいんだけど」, 「よやく」 or
「ｃａｎｃｅｌ ｍｙ ｐｏｌｉｃｙ」, so that the chat answers it instead of saying it did not understand.

The examples live in the locale files (locales/messages/chat_intents.<locale>.yml: intent → phrasings), all
languages in one matcher, so an English question finds its intent wherever the customer types it. A text is
folded first: NFKC (full-width letters, half-width kana), lower case, katakana as hiragana, kana spellings of the
service's words read as their kanji (よやく → 予約), politeness and softening left out (〜をお願いします,
〜んだけど), and in English the words that say nothing (i, my, please …). It is then compared, as character
1–3-grams weighted by TF-IDF, with every example (the nearest counts) and with each intent's centroid (what its
examples share); grams of hiragana alone weigh less, since Japanese writes what a text is about in kanji and
katakana. Character grams also forgive a wrong character or two; a short text further off than that is checked
against the examples with rapidfuzz's edit ratio (解訳したい → 解約したい).

Under THRESHOLD (LATIN_THRESHOLD for English, with fewer examples), or with two intents within MARGIN, the answer
is `unknown`: a customer told "not understood" with the menu and a person is better served than one answered
wrongly. The figures: bench/intents.py; their floors: tests/unit/test_intents.py.

Built once (`matcher()`); matching is pure: no I/O, no clock.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from rapidfuzz import fuzz, process

from bot.platform.i18n import SUPPORTED, message_document

GROUP = "chat_intents"
UNKNOWN = "unknown"
THRESHOLD = 0.3  # under this best score the text is not understood (tests/unit/test_intents.py measures it)
# a text in Latin letters (English) is compared with fewer examples, and its short common words are near many:
# it must come closer before it is acted on
LATIN_THRESHOLD = 0.4
MARGIN = 0.02  # two intents this close: neither is sure enough to act on
CENTROID_WEIGHT = 0.3  # how far what an intent's examples share counts beside the nearest example
TYPO_RATIO = 80  # rapidfuzz's ratio (0–100) at which a text not understood is read as an example mistyped
TYPO_MIN_LENGTH = 4  # shorter texts are one or two characters from too many things
NGRAMS = (1, 2, 3)
# what carries no meaning between intents: punctuation, symbols, spaces (a Latin text keeps one between words)
NOISE = re.compile(
    r"[\s\u3000、。，．,.!！?？…‥・~〜「」『』()（）\[\]【】\"'’`:：;；*＊♪☆★\-_=+/\\|<>@#$%^&]+"
)
KATAKANA = re.compile(r"[\u30a1-\u30f6]")
# Japanese writes what a text is about in kanji and katakana and how it is said (particles, polite or casual
# endings) in hiragana: grams of hiragana alone weigh less, so 「解約したいんだけど」 is about 解約
FUNCTION_GRAM = re.compile(r"^[\u3040-\u309f\u30fc^$ ]+$")
FUNCTION_WEIGHT = 0.35
LATIN = re.compile(r"[a-z]")


@dataclass(frozen=True)
class Guess:
    """The intent a text was taken for and how sure the matcher is (0–1), with the runner-up."""

    intent: str
    score: float
    runner_up: str
    runner_up_score: float


class IntentMatcher:
    """Nearest examples by character n-gram TF-IDF, with rapidfuzz for typos; `unknown` under the threshold."""

    def __init__(
        self,
        examples: Mapping[str, Sequence[str]],
        readings: Mapping[str, str],
        stopwords: Sequence[str] = (),
        fillers: Sequence[str] = (),
        threshold: float = THRESHOLD,
    ) -> None:
        self.threshold = threshold
        self.fillers = tuple(sorted({self._plain(f) for f in fillers}, key=len, reverse=True))
        self.stopwords = frozenset(stopwords)
        # longest first, so that こうじょしょうめいしょ is read before こうじょ
        self.readings = tuple(sorted(readings.items(), key=lambda pair: -len(pair[0])))
        self.labels: list[str] = []
        self.folded: list[str] = []
        for intent, phrasings in examples.items():
            for phrasing in phrasings:
                self.labels.append(intent)
                self.folded.append(self.fold(phrasing))
        grams = [Counter(_grams(text)) for text in self.folded]
        documents = Counter(gram for counts in grams for gram in counts)
        total = len(grams)
        self.idf = {gram: math.log((1 + total) / (1 + count)) + 1 for gram, count in documents.items()}
        self.unseen_idf = math.log(1 + total) + 1  # a gram no example has weighs as the rarest
        self.index: dict[str, list[tuple[int, float]]] = defaultdict(list)
        sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for number, counts in enumerate(grams):
            vector = self._weights(counts)
            norm = math.sqrt(sum(w * w for w in vector.values())) or 1.0
            for gram, weight in vector.items():
                self.index[gram].append((number, weight / norm))
                sums[self.labels[number]][gram] += weight / norm
        # each intent's centroid: what its examples share, beside the nearest example
        self.centroids: dict[str, list[tuple[str, float]]] = defaultdict(list)
        for intent, summed in sums.items():
            norm = math.sqrt(sum(w * w for w in summed.values())) or 1.0
            for gram, weight in summed.items():
                self.centroids[gram].append((intent, weight / norm))
        self.intents = tuple(dict.fromkeys(self.labels))

    @staticmethod
    def _plain(text: str) -> str:
        folded = unicodedata.normalize("NFKC", text).lower()
        return KATAKANA.sub(lambda m: chr(ord(m.group()) - 0x60), folded)

    def fold(self, text: str) -> str:
        """The text as the matcher compares it: NFKC, lower case, hiragana, kana words as kanji, no noise."""
        folded = self._plain(text)
        for kana, word in self.readings:
            folded = folded.replace(kana, word)
        folded = NOISE.sub(" ", folded).strip()
        meaningful = folded
        for filler in self.fillers:
            meaningful = meaningful.replace(filler, " ")
        meaningful = NOISE.sub(" ", meaningful).strip()
        folded = meaningful or folded  # 「よろしくお願いします」 alone is a greeting
        if LATIN.search(folded):
            folded = " ".join(word for word in folded.split() if word not in self.stopwords)
        return folded

    def _weights(self, counts: Counter[str]) -> dict[str, float]:
        return {
            gram: (1 + math.log(count))
            * self.idf.get(gram, self.unseen_idf)
            * (FUNCTION_WEIGHT if FUNCTION_GRAM.match(gram) else 1.0)
            for gram, count in counts.items()
        }

    def scores(self, text: str) -> dict[str, float]:
        """Every intent's best similarity to the text (0–1); intents no example comes near are left out."""
        folded = self.fold(text)
        if not folded:
            return {}
        vector = self._weights(Counter(_grams(folded)))
        norm = math.sqrt(sum(w * w for w in vector.values())) or 1.0
        dots: dict[int, float] = defaultdict(float)
        for gram, weight in vector.items():
            for number, example_weight in self.index.get(gram, ()):
                dots[number] += weight * example_weight
        best: dict[str, float] = {}
        for number, dot in dots.items():
            score = dot / norm
            label = self.labels[number]
            if score > best.get(label, 0.0):
                best[label] = score
        central: dict[str, float] = defaultdict(float)
        for gram, weight in vector.items():
            for intent, centroid_weight in self.centroids.get(gram, ()):
                central[intent] += weight * centroid_weight / norm
        return {
            intent: (1 - CENTROID_WEIGHT) * score + CENTROID_WEIGHT * central[intent]
            for intent, score in best.items()
        }

    def match(self, text: str) -> Guess:
        """The intent of `text`, or `unknown` when no intent's score reaches the threshold."""
        ranked = sorted(self.scores(text).items(), key=lambda pair: -pair[1])[:2]
        ranked += [(UNKNOWN, 0.0)] * (2 - len(ranked))
        (first, score), (second, second_score) = ranked
        if score < self.threshold:
            return self._mistyped(text) or Guess(UNKNOWN, round(score, 3), first, round(score, 3))
        if score < LATIN_THRESHOLD and LATIN.search(self.fold(text)):
            return Guess(UNKNOWN, round(score, 3), first, round(score, 3))
        if score - second_score < MARGIN:
            return Guess(UNKNOWN, round(score, 3), first, round(second_score, 3))
        return Guess(first, round(score, 3), second, round(second_score, 3))

    def _mistyped(self, text: str) -> Guess | None:
        """A text one or two characters from an example (解訳したい for 解約したい): that example's intent."""
        folded = self.fold(text)
        if len(folded) < TYPO_MIN_LENGTH:
            return None
        found = process.extractOne(folded, self.folded, scorer=fuzz.ratio, score_cutoff=TYPO_RATIO)
        if found is None:
            return None
        _, ratio, number = found
        return Guess(self.labels[number], round(ratio / 100, 3), UNKNOWN, 0.0)


def _grams(folded: str) -> list[str]:
    """Character n-grams of the folded text, with its start and end marked (^予 and 約$ say more than 予)."""
    marked = f"^{folded}$"
    return [
        marked[start : start + n]
        for n in NGRAMS
        for start in range(len(marked) - n + 1)
        if marked[start : start + n] not in ("^", "$", " ")
    ]


def examples() -> dict[str, list[str]]:
    """Every intent's example phrasings, in every language, in the order of the Japanese file."""
    merged: dict[str, list[str]] = {}
    for locale in SUPPORTED:
        document = message_document(locale)["messages"].get(GROUP, {})
        for intent, phrasings in (document.get("examples") or {}).items():
            merged.setdefault(intent, []).extend(str(p) for p in phrasings)
    return merged


def _matching(locale: str) -> dict[str, Any]:
    return message_document(locale)["messages"].get(GROUP, {}).get("matching") or {}


def readings() -> dict[str, str]:
    """Kana spellings of the service's words and the word they read as (よやく → 予約)."""
    return {
        str(kana): str(word) for locale in SUPPORTED for kana, word in _matching(locale).get("readings") or ()
    }


def stopwords() -> list[str]:
    """Words of Latin-script texts that say nothing about the intent (i, my, please …)."""
    return [str(word) for locale in SUPPORTED for word in _matching(locale).get("stopwords") or ()]


def fillers() -> list[str]:
    """What Japanese adds for politeness or softening (お願いします, ください, 〜んだけど …)."""
    return [str(word) for locale in SUPPORTED for word in _matching(locale).get("fillers") or ()]


@cache
def matcher() -> IntentMatcher:
    """The service's matcher, built from the locale files once per process."""
    return IntentMatcher(examples(), readings(), stopwords(), fillers())
