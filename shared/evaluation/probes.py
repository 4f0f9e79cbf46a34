"""The probes an evaluation asks: trained questions verbatim, paraphrases of them, validation.

A probe is a conversation up to a user turn (with the example's system message), the reference
answer a correct reply must agree with, and where it came from. Pure: takes parsed JSON lines,
returns probes; nothing here reads a file or calls a model.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from shared.evaluation.similarity import normalized, similarity

MAX_SIMILARITY = 0.9
"""A generated paraphrase at least this similar to its original tests nothing new."""


class ProbeSet(StrEnum):
    TRAINED = "trained"
    """Training questions verbatim: the control, did it learn at all?"""
    PARAPHRASED = "paraphrased"
    """The same facts asked in words the model never saw."""
    VALIDATION = "validation"
    """The run's validation examples."""


@dataclass(frozen=True)
class Probe:
    id: str
    set: ProbeSet
    messages: tuple[Mapping[str, str], ...]
    """The conversation sent to the model: system message, earlier turns, the question last."""
    reference: str
    origin: str = ""
    """For a paraphrase: the id of the trained probe it rephrases (empty if unknown)."""
    variation: str = ""
    """What the paraphrase varies (surname_only, kana_reading, politeness, ...)."""

    @property
    def question(self) -> str:
        return next((m["content"] for m in reversed(self.messages) if m["role"] == "user"), "")

    @property
    def system(self) -> str:
        return next((m["content"] for m in self.messages if m["role"] == "system"), "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "set": self.set.value,
            "messages": [dict(m) for m in self.messages],
            "reference": self.reference,
            "origin": self.origin,
            "variation": self.variation,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Probe:
        return cls(
            id=data["id"],
            set=ProbeSet(data["set"]),
            messages=tuple(dict(m) for m in data["messages"]),
            reference=data["reference"],
            origin=data.get("origin", ""),
            variation=data.get("variation", ""),
        )

    def jsonl_line(self) -> str:
        """The probe as a chat example (reference as the assistant turn), ready to be edited
        and dropped back in the run folder as a line of probes.jsonl."""
        messages = [*map(dict, self.messages), {"role": "assistant", "content": self.reference}]
        return json.dumps({"messages": messages}, ensure_ascii=False)


@dataclass(frozen=True)
class Example:
    """A chat example reduced to what a probe needs: the turns before the last reply, and it."""

    messages: tuple[Mapping[str, str], ...]
    reply: str

    @property
    def question(self) -> str:
        return next((m["content"] for m in reversed(self.messages) if m["role"] == "user"), "")


@dataclass(frozen=True)
class Candidate:
    """A paraphrase the grader proposed, before filtering."""

    question: str
    variation: str = ""
    lead_in: str = ""
    lead_in_reply: str = ""


@dataclass(frozen=True)
class Dropped:
    question: str
    reason: str


@dataclass(frozen=True)
class Filtered:
    kept: list[Probe] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)


def examples_from_lines(lines: Iterable[bytes | str]) -> list[Example]:
    """Chat examples of a JSONL file whose last assistant turn follows a user turn; lines that
    are not such examples (the validator reports them) are skipped."""
    examples = []
    for line in lines:
        try:
            record = json.loads(line)
        except (ValueError, TypeError):
            continue
        example = _example(record)
        if example is not None:
            examples.append(example)
    return examples


def _example(record: Any) -> Example | None:
    messages = record.get("messages") if isinstance(record, dict) else None
    if not isinstance(messages, list):
        return None
    turns: list[dict[str, str]] = []
    for message in messages:
        if not isinstance(message, dict) or not isinstance(message.get("content"), str):
            return None
        if message.get("role") not in ("system", "user", "assistant"):
            return None
        turns.append({"role": message["role"], "content": message["content"]})
    last_reply = max((i for i, m in enumerate(turns) if m["role"] == "assistant"), default=-1)
    if last_reply < 1 or turns[last_reply - 1]["role"] != "user":
        return None
    return Example(tuple(turns[:last_reply]), turns[last_reply]["content"])


def spread(items: Sequence[Example], count: int) -> list[Example]:
    """`count` items spread evenly over `items` (all of them when there are fewer)."""
    if count >= len(items):
        return list(items)
    return [items[index * len(items) // count] for index in range(count)]


def trained_probes(examples: Sequence[Example], count: int) -> list[Probe]:
    return [
        Probe(f"t{number}", ProbeSet.TRAINED, example.messages, example.reply)
        for number, example in enumerate(spread(examples, count), start=1)
    ]


def validation_probes(examples: Sequence[Example], count: int) -> list[Probe]:
    return [
        Probe(f"v{number}", ProbeSet.VALIDATION, example.messages, example.reply)
        for number, example in enumerate(spread(examples, count), start=1)
    ]


def dropped_probes(examples: Sequence[Example]) -> list[Probe]:
    """A user's probes.jsonl: every line is a paraphrase probe, used as written."""
    return [
        Probe(f"p{number}", ProbeSet.PARAPHRASED, example.messages, example.reply, "", "dropped")
        for number, example in enumerate(examples, start=1)
    ]


def question_key(question: str) -> str:
    """A short digest of a question as a reader compares it (punctuation, case, width aside):
    an evaluation keeps these for every training question, not the questions themselves."""
    return hashlib.sha256(normalized(question).encode()).hexdigest()[:16]


def closeness_problem(
    text: str,
    known: Mapping[str, str],
    near: Sequence[tuple[str, str]],
    max_similarity: float = MAX_SIMILARITY,
) -> str:
    """Why a generated question tests (or teaches) nothing new, or "" when it is new: empty, a
    repeat of a question in `known` (`question_key` -> what it is), or at least
    `max_similarity` similar to one of `near` ((question, what it is) pairs). The one n-gram
    filter of Tunedrop: the evaluation's paraphrases and the improvement's phrasings pass it."""
    if not normalized(text):
        return "empty question"
    what = known.get(question_key(text))
    if what is not None:
        return f"repeats {what}"
    for other, name in near:
        score = similarity(text, other)
        if score >= max_similarity:
            return f"too close to {name} (similarity {score:.2f})"
    return ""


def paraphrase_probes(
    original: Probe,
    candidates: Sequence[Candidate],
    known_keys: Iterable[str],
    max_similarity: float = MAX_SIMILARITY,
) -> Filtered:
    """The grader's paraphrases of `original` as probes, minus those that test nothing new: a
    repeat of any training or validation question (`known_keys`, see `question_key`), a repeat
    of another paraphrase, or one whose similarity to the original is at least `max_similarity`."""
    known = dict.fromkeys(known_keys, "a training or validation question")
    result = Filtered()
    system = [m for m in original.messages if m["role"] == "system"]
    for candidate in candidates:
        text = candidate.question.strip()
        problem = closeness_problem(
            text, known, [(original.question, "its original")], max_similarity
        )
        if problem:
            result.dropped.append(Dropped(text, problem))
        else:
            known[question_key(text)] = "a training or validation question"
            turns = list(system)
            if candidate.lead_in.strip():
                turns.append({"role": "user", "content": candidate.lead_in.strip()})
                reply = candidate.lead_in_reply.strip() or "..."
                turns.append({"role": "assistant", "content": reply})
            turns.append({"role": "user", "content": text})
            number = len(result.kept) + 1
            result.kept.append(
                Probe(
                    f"{original.id}p{number}",
                    ProbeSet.PARAPHRASED,
                    tuple(turns),
                    original.reference,
                    original.id,
                    candidate.variation,
                )
            )
    return result


def interleaved(probes: Sequence[Probe]) -> list[Probe]:
    """Each trained probe followed by its paraphrases, then one validation probe, and so on:
    if the call cap cuts the evaluation short, every set has been sampled evenly."""
    by_set: dict[ProbeSet, list[Probe]] = {kind: [] for kind in ProbeSet}
    for probe in probes:
        by_set[probe.set].append(probe)
    children: dict[str, list[Probe]] = {}
    orphans = []
    trained_ids = {probe.id for probe in by_set[ProbeSet.TRAINED]}
    for probe in by_set[ProbeSet.PARAPHRASED]:
        if probe.origin in trained_ids:
            children.setdefault(probe.origin, []).append(probe)
        else:
            orphans.append(probe)
    rows = [[probe, *children.get(probe.id, [])] for probe in by_set[ProbeSet.TRAINED]]
    extra = _alternating(orphans, by_set[ProbeSet.VALIDATION])
    ordered: list[Probe] = []
    for index in range(max(len(rows), len(extra))):
        if index < len(rows):
            ordered.extend(rows[index])
        if index < len(extra):
            ordered.append(extra[index])
    return ordered


def _alternating(first: Sequence[Probe], second: Sequence[Probe]) -> list[Probe]:
    merged: list[Probe] = []
    for index in range(max(len(first), len(second))):
        merged += [*first[index : index + 1], *second[index : index + 1]]
    return merged
