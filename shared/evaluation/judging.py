"""What Tunedrop asks the grader deployment, and how it reads the answers. Pure.

Two structured-output requests (`response_format` of type `json_schema`, strict):
- paraphrases of a training question, varying what people vary (wording, politeness, and how the
  subject is named: surname only, given name only, the reading in kana, a nickname, a pronoun in
  a follow-up turn);
- a judgement of one reply: the reference's facts listed as present, missing or contradicted.

The judge sees one reply at a time (never two side by side, so it has no position to favour) and
only lists facts: whether the reply passes is decided here, in code (`Judgement.passed`). An
answer that cannot be read is an `UnreadableAnswer`, which the evaluation records as an `error`,
never as a `fail`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.evaluation.probes import Candidate, Probe

VARIATIONS = (
    "wording",
    "politeness",
    "surname_only",
    "given_name_only",
    "kana_reading",
    "nickname",
    "pronoun_follow_up",
)
FACT_STATES = ("present", "missing", "contradicted")


def candidates_schema(name: str, key: str, variations: tuple[str, ...]) -> dict[str, Any]:
    """The structured-output format of a grader's list of new questions under `key`, each
    with its variation (one of `variations`), an optional lead-in turn and its reply."""
    return {
        "type": "json_schema",
        "json_schema": {
            "name": name,
            "strict": True,
            "schema": {
                "type": "object",
                "additionalProperties": False,
                "required": [key],
                "properties": {
                    key: {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["variation", "lead_in", "lead_in_reply", "question"],
                            "properties": {
                                "variation": {"type": "string", "enum": list(variations)},
                                "lead_in": {"type": "string"},
                                "lead_in_reply": {"type": "string"},
                                "question": {"type": "string"},
                            },
                        },
                    }
                },
            },
        },
    }


PARAPHRASE_SCHEMA = candidates_schema("tunedrop_paraphrases", "paraphrases", VARIATIONS)

JUDGE_SCHEMA: dict[str, Any] = {
    "type": "json_schema",
    "json_schema": {
        "name": "tunedrop_judgement",
        "strict": True,
        "schema": {
            "type": "object",
            "additionalProperties": False,
            "required": ["facts"],
            "properties": {
                "facts": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["fact", "key", "status"],
                        "properties": {
                            "fact": {"type": "string"},
                            "key": {"type": "boolean"},
                            "status": {"type": "string", "enum": list(FACT_STATES)},
                        },
                    },
                }
            },
        },
    },
}

PARAPHRASE_INSTRUCTIONS = (
    "You write test questions for a fine-tuned chat model. Given a question from its training "
    "data (with the system message the model runs under and the reference answer), write "
    "{count} new questions that ask for exactly the same facts, in the language of the "
    "question, the way real people would ask. Vary what people really vary: the wording and the "
    "politeness, and how the subject is named (surname only, given name only, the reading in "
    "kana, a nickname, or a pronoun in a follow-up turn: then put the first turn, which names "
    'the subject, in "lead_in" and a short assistant reply to it in "lead_in_reply"; otherwise '
    "leave both empty). Never repeat the original question, never change what is asked. Label "
    'each with its "variation". The input is JSON.'
)

JUDGE_INSTRUCTIONS = (
    "You check a chat model's reply against a reference answer. Split the reference into its "
    'facts and list each one with "status": "present" when the reply states it (in any '
    'wording, any politeness), "missing" when the reply does not state it, "contradicted" when '
    'the reply states something incompatible with it. Mark "key": true for facts that answer '
    "the question, false for decoration (tone, greetings). Judge only facts, not style or "
    "length. The input is JSON."
)


class UnreadableAnswer(ValueError):
    """The grader's answer is not the JSON its schema asks for; the message says what is wrong."""


@dataclass(frozen=True)
class Fact:
    fact: str
    key: bool
    status: str


@dataclass(frozen=True)
class Judgement:
    facts: tuple[Fact, ...]

    @property
    def key_facts(self) -> tuple[Fact, ...]:
        marked = tuple(fact for fact in self.facts if fact.key)
        return marked or self.facts

    @property
    def missing(self) -> list[str]:
        return [fact.fact for fact in self.key_facts if fact.status == "missing"]

    @property
    def contradicted(self) -> list[str]:
        return [fact.fact for fact in self.facts if fact.status == "contradicted"]

    @property
    def passed(self) -> bool:
        """No fact contradicted and every key fact present (all facts count as key when the
        judge marked none)."""
        return not self.contradicted and not self.missing

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": "pass" if self.passed else "fail",
            "facts": [{"fact": f.fact, "key": f.key, "status": f.status} for f in self.facts],
            "missing": self.missing,
            "contradicted": self.contradicted,
        }


def paraphrase_messages(probe: Probe, count: int) -> list[dict[str, str]]:
    payload = {
        "system_message": probe.system,
        "question": probe.question,
        "reference_answer": probe.reference,
        "count": count,
    }
    return [
        {"role": "system", "content": PARAPHRASE_INSTRUCTIONS.format(count=count)},
        {"role": "user", "content": json.dumps(payload, ensure_ascii=False)},
    ]


def judge_messages(question: str, reference: str, reply: str) -> list[dict[str, str]]:
    payload = {"question": question, "reference_answer": reference, "reply": reply}
    return [
        {"role": "system", "content": JUDGE_INSTRUCTIONS},
        {"role": "user", "content": json.dumps(payload, ensure_ascii=False)},
    ]


def _object(content: str | None, key: str) -> list[Any]:
    if not content or not content.strip():
        raise UnreadableAnswer("the grader answered nothing")
    try:
        data = json.loads(content)
    except ValueError as exc:
        raise UnreadableAnswer(f"the grader's answer is not JSON: {content[:80]!r}") from exc
    items = data.get(key) if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise UnreadableAnswer(f'the grader\'s answer has no "{key}" list')
    return items


def parse_paraphrases(content: str | None) -> list[Candidate]:
    """The candidates of a paraphrase answer; raises `UnreadableAnswer`."""
    return parse_candidates(content, "paraphrases", "paraphrase")


def parse_candidates(content: str | None, key: str, noun: str) -> list[Candidate]:
    """The new questions of a grader's answer under `key` (`noun` names one in a refusal);
    raises `UnreadableAnswer` naming what is wrong."""
    candidates = []
    for index, item in enumerate(_object(content, key), start=1):
        if not isinstance(item, Mapping) or not isinstance(item.get("question"), str):
            raise UnreadableAnswer(f'{noun} {index} has no "question" text')
        candidates.append(
            Candidate(
                question=item["question"],
                variation=str(item.get("variation") or ""),
                lead_in=str(item.get("lead_in") or ""),
                lead_in_reply=str(item.get("lead_in_reply") or ""),
            )
        )
    return candidates


def parse_judgement(content: str | None) -> Judgement:
    """The judge's verdict on one reply; raises `UnreadableAnswer` for anything that is not a
    non-empty list of facts, each with a text, a key flag and a known status."""
    facts = []
    for index, item in enumerate(_object(content, "facts"), start=1):
        if not isinstance(item, Mapping):
            raise UnreadableAnswer(f"fact {index} is not an object")
        text, key, status = item.get("fact"), item.get("key", True), item.get("status")
        if not isinstance(text, str) or not isinstance(key, bool):
            raise UnreadableAnswer(f'fact {index} needs a "fact" text and a boolean "key"')
        if status not in FACT_STATES:
            raise UnreadableAnswer(f"fact {index} has status {status!r}, not one of {FACT_STATES}")
        facts.append(Fact(text, key, status))
    if not facts:
        raise UnreadableAnswer("the judge listed no facts of the reference")
    return Judgement(tuple(facts))
