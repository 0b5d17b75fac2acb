"""Known carrier texts most like a given one: a suggestion for whoever teaches the reader.

When the reader leaves a text ``unknown``, the texts of the real-scan corpus (and the
team's own taught examples) that look most like it are a good first guess at what it
means: ``similar("Zending is bij de buren bezorgd")`` lists the labelled texts nearest to
it with their milestones. It is a suggestion shown to an analyst, never a reading: the
reader itself does not guess from resemblance (a wrong milestone is worse than
``unknown``).

Texts are compared as bags of their words and of the 3- to 5-letter pieces of each word
(digits counted as zeros, so hub numbers do not matter), each weighted by how rare it is
among the known texts (tf-idf), by cosine similarity: 1.0 for the same words, about 0.5
for texts that share their main words.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from itertools import pairwise

from toolkit.tracking.phrases import core_text, normalize_text

__all__ = ["KnownTexts", "Similar", "known_texts", "similar"]

_ZEROS = str.maketrans("0123456789", "0000000000")
_WORD = re.compile(r"\w+")
_LONGEST_WORD = 40  # characters: longer runs (ids, unspaced Chinese sentences) give no pieces


@dataclass(frozen=True)
class Similar:
    """A known text near the one asked about."""

    text: str
    milestone: str
    carrier: str
    source: str
    score: float  # cosine similarity, 0..1


def _features(text: str) -> Counter[str]:
    normalized = core_text(normalize_text(text)).translate(_ZEROS)
    words = _WORD.findall(normalized)
    found: Counter[str] = Counter()
    for word in words:
        found["w:" + word] += 1
        if len(word) > _LONGEST_WORD:
            continue
        padded = f"<{word}>"
        for size in (3, 4, 5):
            for i in range(len(padded) - size + 1):
                found[padded[i : i + size]] += 1
    for a, b in pairwise(words):
        found[f"b:{a} {b}"] += 1
    return found


class KnownTexts:
    """Labelled texts to compare with, indexed by their features."""

    def __init__(
        self,
        texts: Iterable[str],
        milestones: Iterable[str],
        carriers: Iterable[str] = (),
        sources: Iterable[str] = (),
    ):
        texts, milestones = list(texts), list(milestones)
        carriers = list(carriers) or [""] * len(texts)
        sources = list(sources) or [""] * len(texts)
        rows: list[tuple[str, str, str, str]] = []
        seen: set[tuple[str, str]] = set()
        for row in zip(texts, milestones, carriers, sources, strict=True):
            key = (normalize_text(row[0]), row[1])
            if key[0] and key not in seen:  # one copy of each text and label
                seen.add(key)
                rows.append(row)
        self.rows = rows
        counted = [_features(text) for text, *_ in rows]
        documents: Counter[str] = Counter()
        for features in counted:
            documents.update(features.keys())
        total = len(counted)
        self._idf = {f: math.log((1 + total) / (1 + n)) + 1.0 for f, n in documents.items()}
        self._postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for i, features in enumerate(counted):
            for feature, weight in self._vector(features).items():
                self._postings[feature].append((i, weight))

    def __len__(self) -> int:
        return len(self.rows)

    def _vector(self, features: Counter[str]) -> dict[str, float]:
        weights = {
            f: (1.0 + math.log(n)) * self._idf[f] for f, n in features.items() if f in self._idf
        }
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        return {f: w / norm for f, w in weights.items()}

    def query(self, text: str, n: int = 3) -> list[Similar]:
        """The ``n`` known texts most like ``text``, most similar first."""
        scores: dict[int, float] = defaultdict(float)
        for feature, weight in self._vector(_features(text)).items():
            for i, other in self._postings.get(feature, ()):
                scores[i] += weight * other
        best = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
        return [Similar(*self.rows[i], score=round(min(score, 1.0), 3)) for i, score in best]


@cache
def known_texts() -> KnownTexts:
    """The real-scan corpus's texts with their labels (built once, in about a second)."""
    from toolkit.tracking.corpus import corpus

    c = corpus()
    return KnownTexts(c["text"], c["expected"], c["carrier"], c["source"])


def similar(text: str, n: int = 3, taught: Iterable[Similar] = ()) -> list[Similar]:
    """The known texts most like ``text``: the corpus's, and ``taught`` ones (the team's
    examples) compared the same way."""
    found = known_texts().query(text, n)
    extra = list(taught)
    if extra:
        team = KnownTexts(
            [s.text for s in extra],
            [s.milestone for s in extra],
            [s.carrier for s in extra],
            [s.source for s in extra],
        )
        # the team's own idf: few texts, so only near-identical wording scores high
        found = sorted([*found, *team.query(text, n)], key=lambda s: -s.score)[:n]
    return found
