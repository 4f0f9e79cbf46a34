"""Finds the training example whose user turn is closest to a question. Pure.

Features are lower-cased words plus character bigrams of the text without spaces, so languages
written without spaces (Japanese, Chinese) match as well as English.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence

_WORD = re.compile(r"\w+")


def features(text: str) -> set[str]:
    normal = unicodedata.normalize("NFKC", text).casefold()
    words = set(_WORD.findall(normal))
    compact = "".join(_WORD.findall(normal))
    bigrams = {compact[i : i + 2] for i in range(len(compact) - 1)}
    return words | {f"~{b}" for b in bigrams}


def closest_index(question: str, candidates: Sequence[str]) -> int:
    """Index of the candidate most similar to `question` (cosine over feature sets); 0 on ties."""
    wanted = features(question)
    best, best_score = 0, -1.0
    for index, candidate in enumerate(candidates):
        have = features(candidate)
        score = len(wanted & have) / math.sqrt(len(wanted) * len(have)) if wanted and have else 0
        if score > best_score:
            best, best_score = index, score
    return best
