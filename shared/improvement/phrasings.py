"""New user turns for a training set: what Tunedrop asks the grader, and what it keeps. Pure.

For each training example the grader writes up to `count` new user turns asking for the same
answer, varying what an evaluation finds missing: how the subject is named (surname only, given
name only, the reading in kana, romaji or English, a nickname, with and without an honorific),
the script (kanji, hiragana, katakana and English mixed), word order and politeness, and a
pronoun in a follow-up turn. The assistant's answer stays as it was.

A phrasing is kept only if it passes the evaluation's own n-gram filter
(`shared.evaluation.probes.closeness_problem`) against every probe of the evaluation and every
training question: the child is then judged on questions it never saw, and learns no duplicate.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.evaluation.judging import candidates_schema, parse_candidates
from shared.evaluation.probes import (
    MAX_SIMILARITY,
    Candidate,
    Dropped,
    Example,
    closeness_problem,
    question_key,
)

VARIATIONS = (
    "surname_only",
    "given_name_only",
    "kana_reading",
    "romaji",
    "nickname",
    "honorific",
    "no_honorific",
    "script_mix",
    "word_order",
    "politeness",
    "pronoun_follow_up",
)

PHRASINGS_SCHEMA = candidates_schema("tunedrop_phrasings", "phrasings", VARIATIONS)

INSTRUCTIONS = (
    "You write training data for a fine-tuned chat model that learned to answer its questions "
    "only as they were phrased. Given one training question (with the system message the model "
    "runs under, the answer it must keep giving, and the subject the questions are about), "
    "write {count} new questions that ask for exactly the same answer, in the language of the "
    "question. Vary how the subject is named: surname only, given name only, the reading in "
    "kana, romaji or English, a nickname, with and without an honorific; the script (kanji, "
    "hiragana, katakana and English mixed); the word order; the politeness. For a pronoun in a "
    'follow-up turn, put the first turn, which names the subject, in "lead_in" and a short '
    'assistant reply to it in "lead_in_reply"; otherwise leave both empty. Never repeat the '
    'question, never change what is asked. Label each with its "variation". The input is JSON.'
)

_SUBJECT_WARNING = re.compile(r'name their subject as "([^"]+)"')


@dataclass(frozen=True)
class Kept:
    """A phrasing that passed the filter, as the training line it becomes."""

    variation: str
    messages: tuple[Mapping[str, str], ...]

    @property
    def question(self) -> str:
        return self.messages[-2]["content"]

    def jsonl_line(self) -> str:
        return json.dumps({"messages": [dict(m) for m in self.messages]}, ensure_ascii=False)


@dataclass(frozen=True)
class Phrasings:
    kept: list[Kept] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)


def subject_of(warnings: Iterable[Mapping[str, Any]]) -> str:
    """The subject the validator found named one way only (its `uniform_subject_naming`
    warning on the training file), or "" when it found none."""
    for warning in warnings:
        if warning.get("code") == "uniform_subject_naming":
            found = _SUBJECT_WARNING.search(str(warning.get("message", "")))
            if found:
                return found.group(1)
    return ""


def phrasing_messages(example: Example, subject: str, count: int) -> list[dict[str, str]]:
    """The grader's structured-output request for `count` new phrasings of `example`."""
    system = next((m["content"] for m in example.messages if m["role"] == "system"), "")
    payload = {
        "system_message": system,
        "question": example.question,
        "answer": example.reply,
        "subject": subject,
        "count": count,
    }
    return [
        {"role": "system", "content": INSTRUCTIONS.format(count=count)},
        {"role": "user", "content": json.dumps(payload, ensure_ascii=False)},
    ]


def parse_phrasings(content: str | None) -> list[Candidate]:
    """The phrasings of the grader's answer; raises `UnreadableAnswer` naming what is wrong."""
    return parse_candidates(content, "phrasings", "phrasing")


def kept_phrasings(
    example: Example,
    candidates: Sequence[Candidate],
    probes: Sequence[str],
    training_keys: Mapping[str, str],
    max_similarity: float = MAX_SIMILARITY,
) -> Phrasings:
    """The candidates that pass the n-gram filter: none equal to a training question
    (`training_keys`, `question_key` -> what it is) or to another kept phrasing, and none at
    least `max_similarity` similar to a probe of the evaluation or to the example's question.
    `training_keys` grows with every phrasing kept, so one call after another never keeps a
    phrasing twice."""
    near = [(probe, "a probe of the evaluation") for probe in probes]
    near.append((example.question, "its original"))
    result = Phrasings()
    known = training_keys if isinstance(training_keys, dict) else dict(training_keys)
    for candidate in candidates:
        text = candidate.question.strip()
        lead_in = candidate.lead_in.strip()
        problem = closeness_problem(text, known, near, max_similarity)
        if not problem and lead_in:
            # A follow-up's first turn is asked too: it must not be a probe either.
            problem = closeness_problem(lead_in, {}, near[:-1], max_similarity)
        if problem:
            result.dropped.append(Dropped(text, problem))
            continue
        known[question_key(text)] = "another new phrasing"
        turns = list(example.messages[:-1])
        if lead_in:
            turns.append({"role": "user", "content": lead_in})
            turns.append({"role": "assistant", "content": candidate.lead_in_reply.strip() or "..."})
        turns.append({"role": "user", "content": text})
        turns.append({"role": "assistant", "content": example.reply})
        result.kept.append(Kept(candidate.variation, tuple(turns)))
    return result
