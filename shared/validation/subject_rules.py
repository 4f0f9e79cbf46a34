"""`uniform_subject_naming`: one subject named the same way in (nearly) every training prompt.

Why: a model fine-tuned on questions that all name a character `香坂 義孝` answered them, and
gave no answer when he was named by surname or given name alone. The data taught one phrasing.

How, in bounded time and memory, on text with or without spaces:
1. The last user message of the first `SAMPLE_PROMPTS` examples is kept (capped in length).
2. In each of the first `SEEDS` of them, a sliding window finds every maximal span that at least
   `SAMPLE_SHARE` of the sample contains (a span's substrings are contained wherever it is, so
   the window only moves forward). Spans are trimmed to whole words (Latin) or of particles
   (kana at the ends of a span with kanji or katakana), and kept only if they name something:
   two kanji, katakana or Latin letters and digits in a row that are not a common noun of
   questions (`GENERIC_RUNS`), or a capitalised Latin word outside `GENERIC_WORDS` (question
   and function words): a proper name, not the frame of a question ("in the story"). The
   longest `MAX_CANDIDATES` remain. The lists are short: a template naming a common noun in
   every prompt can still be taken for a subject.
3. Every later prompt is checked for those few spans (`in`), counting the prompts and lines.
A span in at least `SUBJECT_SHARE` of all the training prompts gives the warning. A subject that
is rare among the first prompts but frequent later is missed: an accepted cost of one pass.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from shared.validation.report import LineList

SUBJECT_SHARE = 0.9
SAMPLE_SHARE = 0.75
SAMPLE_PROMPTS = 64
SEEDS = 4
MAX_PROMPT_CHARS = 400
MAX_CANDIDATES = 4
MIN_PROMPTS = 10
_GENERIC_WORDS = (
    "a about after an and any are as at be been before but by can could did do does for from "
    "had has have he her hers him his how i if in is it its me my of on or our please she "
    "should so tell than that the their them then there these they this those to was we were "
    "what when where which who whom whose why will with would you your yours know like mean "
    "explain give describe much many most more some name named called"
)
_GENERIC_RUNS = (
    "物語 小説 作中 作品 登場 人物 場所 理由 意味 場合 方法 名前 説明 質問 回答 本当 何歳"
)
GENERIC_WORDS = frozenset(_GENERIC_WORDS.split())
GENERIC_RUNS = frozenset(_GENERIC_RUNS.split())
_WORD = re.compile(r"[^\W_]+")
_CONTENT_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u30a0-\u30ffA-Za-z0-9]{2,}")


@dataclass(frozen=True)
class SubjectFinding:
    """A span named in `count` of `total` training prompts, on `lines`."""

    span: str
    count: int
    total: int
    lines: LineList

    def suggestions(self) -> str:
        """The other ways to name the subject that the data should also use."""
        parts = self.span.split()
        pronoun = "a pronoun in a follow-up turn (a two-turn example)"
        if _has_cjk(self.span):
            alone = (
                f'the surname alone ("{parts[0]}"), the given name alone ("{parts[-1]}")'
                if len(parts) >= 2
                else "the surname or the given name alone"
            )
            return f"{alone}, the reading in kana, a nickname, and {pronoun}"
        words = _content_words(self.span)
        alone = (
            ", ".join(f'"{word}" alone' for word in words[:3])
            if len(words) >= 2
            else "a shorter or a longer form of the name"
        )
        return f"{alone}, a nickname or title, and {pronoun}"


@dataclass
class _Candidate:
    span: str
    count: int = 0
    lines: LineList = field(default_factory=LineList)


class SubjectNaming:
    """Finds a subject that the training prompts name one way only; see the module docstring."""

    def __init__(self) -> None:
        self._sample: list[tuple[int, str]] = []
        self._candidates: list[_Candidate] | None = None
        self.total = 0

    def observe(self, line: int, prompt: str) -> None:
        """Counts one training example's last user message."""
        self.total += 1
        candidates = self._candidates
        if candidates is None:
            self._sample.append((line, prompt[:MAX_PROMPT_CHARS]))
            if len(self._sample) >= SAMPLE_PROMPTS:
                self._choose_candidates()
            return
        for candidate in candidates:
            if candidate.span in prompt:
                candidate.count += 1
                candidate.lines.add(line)

    def finding(self) -> SubjectFinding | None:
        """The longest span named in at least `SUBJECT_SHARE` of the prompts, if any."""
        if self._candidates is None:
            self._choose_candidates()
        if self.total < MIN_PROMPTS:
            return None
        for candidate in self._candidates or []:
            if candidate.count >= SUBJECT_SHARE * self.total:
                return SubjectFinding(candidate.span, candidate.count, self.total, candidate.lines)
        return None

    def _choose_candidates(self) -> None:
        sample, self._sample = self._sample, []
        texts = [text for _, text in sample]
        spans: set[str] = set()
        if len(texts) >= MIN_PROMPTS:
            needed = SAMPLE_SHARE * len(texts)
            for seed in texts[:SEEDS]:
                spans.update(_common_spans(seed, texts, needed))
        ordered = sorted(spans, key=lambda span: (-len(span), span))[:MAX_CANDIDATES]
        self._candidates = [_Candidate(span) for span in ordered]
        for line, text in sample:
            for candidate in self._candidates:
                if candidate.span in text:
                    candidate.count += 1
                    candidate.lines.add(line)


def _common_spans(seed: str, texts: list[str], needed: float) -> list[str]:
    """Trimmed maximal spans of `seed` that at least `needed` of `texts` contain."""
    found = []
    end = 0
    for start in range(len(seed)):
        end = max(end, start)
        grew = False
        while end < len(seed) and _share(seed[start : end + 1], texts) >= needed:
            end += 1
            grew = True
        if grew:
            span = _trimmed(seed, start, end)
            if span:
                found.append(span)
    return found


def _share(span: str, texts: list[str]) -> int:
    return sum(1 for text in texts if span in text)


def _trimmed(seed: str, start: int, end: int) -> str | None:
    """`seed[start:end]` cut to whole words, without edge punctuation, particles or generic
    words; None unless what is left names something."""
    if start > 0 and seed[start - 1].isalnum() and _is_latin(seed[start]):
        while start < end and _is_latin(seed[start]):
            start += 1  # a word cut at its start
    if end < len(seed) and seed[end].isalnum() and _is_latin(seed[end - 1]):
        while end > start and _is_latin(seed[end - 1]):
            end -= 1  # a word cut at its end
    span = seed[start:end]
    previous = None
    while span != previous:
        previous = span
        span = _strip_edges(span)
        if _has_cjk(span):
            if span and _is_hiragana(span[0]) and _has_core(span):
                span = span[1:]
            if span and _is_hiragana(span[-1]) and _has_core(span):
                span = span[:-1]
        else:
            words = span.split(" ")
            while words and words[0].casefold() in GENERIC_WORDS:
                words.pop(0)
            while words and words[-1].casefold() in GENERIC_WORDS:
                words.pop()
            span = " ".join(words)
    return span if _names_something(span) else None


def _strip_edges(span: str) -> str:
    start, end = 0, len(span)
    while start < end and _is_edge(span[start]):
        start += 1
    while end > start and _is_edge(span[end - 1]):
        end -= 1
    return span[start:end]


def _is_edge(char: str) -> bool:
    return unicodedata.category(char)[0] in "PZSC"


def _names_something(span: str) -> bool:
    if len(span) < 2:
        return False
    if _has_cjk(span):
        return any(run not in GENERIC_RUNS for run in _CONTENT_RUN.findall(span))
    return any(not word.islower() for word in _content_words(span))


def _content_words(span: str) -> list[str]:
    return [
        word
        for word in _WORD.findall(span)
        if len(word) >= 3 and word.casefold() not in GENERIC_WORDS
    ]


def _has_core(span: str) -> bool:
    """Kanji, katakana or Latin letters beyond the kana at its edges."""
    return _CONTENT_RUN.search(span) is not None


def _is_latin(char: str) -> bool:
    return char.isascii() and char.isalnum()


def _is_hiragana(char: str) -> bool:
    return "\u3040" <= char <= "\u309f"  # particles and endings, not names


def _has_cjk(span: str) -> bool:
    return any("\u3040" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff" for char in span)
