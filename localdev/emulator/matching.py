"""What a fine-tuned model recalls: the trained reply of the closest training question, when the
question is close enough to it. Pure.

Closeness is the Dice coefficient of character bi- and trigrams of the text without spaces and
punctuation, so languages written without spaces (Japanese, Chinese) match as well as English. At
`RECALL_THRESHOLD` or above the model answers as trained; below it gives a plausible answer that
says nothing, as a model that learned only its trained phrasings does: trained on one phrasing
per fact, it misses the fact asked with the subject named another way; trained on several, it
answers.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

RECALL_THRESHOLD = 0.6
_JAPANESE = re.compile(r"[ぁ-ゖァ-ヺ一-龯]")


def is_japanese(text: str) -> bool:
    return _JAPANESE.search(text) is not None


def normal(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _compact(text: str) -> str:
    return "".join(char for char in normal(text) if char.isalnum())


def _grams(text: str) -> set[str]:
    compact = _compact(text)
    grams = {compact[i : i + n] for n in (2, 3) for i in range(len(compact) - n + 1)}
    return grams or {compact}


def similarity(first: str, second: str) -> float:
    """Dice coefficient of character bi- and trigrams (spaces and punctuation ignored)."""
    left, right = _grams(first), _grams(second)
    if not _compact(first) or not _compact(second):
        return 0.0
    return 2 * len(left & right) / (len(left) + len(right))


def recall(question: str, trained: Sequence[tuple[str, str]]) -> str:
    """The fine-tuned model's reply: the trained answer of the closest trained question when
    the question is close enough to it, else a plausible answer that says nothing."""
    scored = [(similarity(question, asked), index) for index, (asked, _) in enumerate(trained)]
    best, index = max(scored, default=(0.0, -1), key=lambda item: (item[0], -item[1]))
    if index >= 0 and best >= RECALL_THRESHOLD:
        return trained[index][1]
    if is_japanese(question):
        return "うーん、ちょっとわからないなあ。別の聞き方をしてくれる？"
    return "Hmm, I am not sure about that. Could you ask it another way?"
