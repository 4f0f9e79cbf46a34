"""Character n-gram measures that work without word boundaries (Japanese as well as English).

`chrf` is the chrF of Popović (2015) as `sacrebleu.metrics.CHRF()` computes it by default
(character orders 1-6, beta 2, whitespace ignored, no word n-grams); a dev test checks that
both give the same scores. It is written here because sacrebleu would bring numpy, lxml and
three more packages into a Functions app for 40 lines of arithmetic.

`similarity` is a symmetric Dice score over character bigrams and trigrams of the text with its
punctuation and spaces removed: 1.0 for the same question written with other punctuation, falling
as the wording changes. It decides which generated paraphrases are too close to their original.
Pure.
"""

from __future__ import annotations

import unicodedata
from collections import Counter

CHRF_ORDER = 6
CHRF_BETA = 2.0


def normalized(text: str) -> str:
    """NFKC, case-folded, letters and digits only: what a reader compares."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(char for char in folded if char.isalnum())


def _grams(text: str, sizes: tuple[int, ...]) -> set[str]:
    grams = {text[i : i + n] for n in sizes for i in range(len(text) - n + 1)}
    return grams or ({text} if text else set())


def similarity(first: str, second: str) -> float:
    """Dice coefficient of the character bi- and trigrams of the normalized texts, 0..1."""
    a, b = normalized(first), normalized(second)
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    left, right = _grams(a, (2, 3)), _grams(b, (2, 3))
    return 2 * len(left & right) / (len(left) + len(right))


def _counts(text: str, n: int) -> Counter[str]:
    return Counter(text[i : i + n] for i in range(len(text) - n + 1))


def chrf(hypothesis: str, reference: str) -> float:
    """chrF (0-100) of `hypothesis` against one `reference`, as sacrebleu's default CHRF."""
    hyp, ref = "".join(hypothesis.split()), "".join(reference.split())
    factor = CHRF_BETA**2
    precision_sum = recall_sum = 0.0
    effective = 0
    for n in range(1, CHRF_ORDER + 1):
        hyp_grams, ref_grams = _counts(hyp, n), _counts(ref, n)
        hyp_total, ref_total = sum(hyp_grams.values()), sum(ref_grams.values())
        matches = sum((hyp_grams & ref_grams).values())
        if hyp_total > 0 and ref_total > 0:
            effective += 1
            precision_sum += matches / hyp_total
            recall_sum += matches / ref_total
    if effective == 0:
        return 0.0
    precision, recall = precision_sum / effective, recall_sum / effective
    if precision + recall == 0:
        return 0.0
    return 100 * (1 + factor) * precision * recall / (factor * precision + recall)
