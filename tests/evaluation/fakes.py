"""Fakes of the evaluation's roles, and a run deployed on the pipeline's fakes to evaluate."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from shared.errors import TransientServiceError
from shared.evaluation.ports import EvaluationKit, EvaluationSettings
from shared.pipeline.protocols import ChatReply
from shared.pipeline.services import Services
from shared.runs.states import RunState
from tests.pipeline.data import QUESTIONS, RUN_JSON, TRAIN, VALIDATION
from tests.pipeline.fakes import fake_services
from tests.pipeline.helpers import drop, tick_until

GRADER, BASE, TUNED = "grader", "gpt-4o-mini", "tunedrop-minato"
NOT_KNOWN = "さあ、わかりません。"


class FakeModelCalls:
    """A tuned model that knows its trained questions word for word (and `also_knows`), a base
    model that knows nothing, and a grader that paraphrases by adding a greeting and judges by
    whether the reference appears in the reply. Every call is logged."""

    def __init__(
        self,
        trained: Sequence[tuple[str, str]] = QUESTIONS,
        also_knows: Mapping[str, str] | None = None,
        base_knows: Mapping[str, str] | None = None,
        judge_answer: str | None = None,
        prefixes: Sequence[str] = ("もしもし、", "すみません、"),
    ) -> None:
        self.knows = {**dict(trained), **(also_knows or {})}
        self.base_knows = dict(base_knows or {})
        self.judge_answer = judge_answer
        self.prefixes = prefixes
        self.log: list[tuple[str, str]] = []
        self.throttle: Counter[str] = Counter()
        """deployment -> how many of its next calls answer 429."""

    def asked(self) -> Counter[tuple[str, str]]:
        return Counter(self.log)

    def ask(
        self,
        deployment: str,
        messages: Sequence[Mapping[str, str]],
        *,
        max_tokens: int,
        seed: int,
        response_format: Mapping[str, Any] | None = None,
    ) -> ChatReply:
        content = messages[-1]["content"]
        self.log.append((deployment, json.dumps([dict(m) for m in messages], ensure_ascii=False)))
        if self.throttle[deployment] > 0:
            self.throttle[deployment] -= 1
            raise TransientServiceError(f"asking {deployment!r}: 429 too many requests", 30)
        usage = {"prompt_tokens": 10, "completion_tokens": 5}
        if response_format is not None:
            name = response_format["json_schema"]["name"]
            return ChatReply(self._grade(name, json.loads(content)), GRADER, usage)
        knows = self.knows if deployment == TUNED else self.base_knows
        return ChatReply(knows.get(content, NOT_KNOWN), deployment, usage)

    def _grade(self, schema: str, payload: dict[str, Any]) -> str:
        if schema == "tunedrop_paraphrases":
            found = [
                {"variation": "politeness", "lead_in": "", "lead_in_reply": "", "question": p + q}
                for p in self.prefixes
                for q in [payload["question"]]
            ]
            return json.dumps({"paraphrases": found}, ensure_ascii=False)
        if self.judge_answer is not None:
            return self.judge_answer
        status = "present" if payload["reference_answer"] in payload["reply"] else "missing"
        fact = {"fact": payload["reference_answer"], "key": True, "status": status}
        return json.dumps({"facts": [fact]}, ensure_ascii=False)


class FakeEvaluationReports:
    def __init__(self) -> None:
        self.documents: dict[str, Any] = {}
        self.writes: Counter[str] = Counter()

    def read_json(self, path: str) -> dict[str, Any] | None:
        document = self.documents.get(path)
        return json.loads(json.dumps(document)) if isinstance(document, dict) else None

    def write_json(self, path: str, document: Mapping[str, Any]) -> None:
        self.documents[path] = json.loads(json.dumps(document))
        self.writes[path] += 1

    def write_text(self, path: str, text: str, content_type: str) -> None:
        self.documents[path] = text
        self.writes[path] += 1


def deployed_run(
    models: FakeModelCalls | None = None,
    *,
    validation: bool = True,
    run_json: bytes = RUN_JSON,
    extra_files: Mapping[str, bytes] | None = None,
    **settings: Any,
) -> Services:
    """Services (pipeline fakes plus the evaluation's) with run "minato" deployed; the
    evaluation starts on the next tick."""
    options = {"grader_deployment": GRADER, "base_deployment": BASE, "calls_per_tick": 500}
    kit = EvaluationKit(
        EvaluationSettings(**{**options, **settings}),
        models or FakeModelCalls(),
        FakeEvaluationReports(),
    )
    services = fake_services(evaluation=kit)
    services = dataclasses.replace(
        services, policy=dataclasses.replace(services.policy, evaluate=False)
    )
    drop(services, "minato/run.json", run_json)
    drop(services, "minato/train.jsonl", TRAIN)
    if validation:
        drop(services, "minato/validation.jsonl", VALIDATION)
    for name, data in (extra_files or {}).items():
        services.inbox.put(name, data)  # type: ignore[attr-defined]
    tick_until(services, "minato", RunState.DEPLOYED)
    return dataclasses.replace(services, policy=dataclasses.replace(services.policy, evaluate=True))


def restarted(services: Services) -> Services:
    """The same stores and services as a freshly started host would build them."""
    kit = services.evaluation
    assert kit is not None
    fresh_kit = EvaluationKit(kit.settings, kit.models, kit.reports)
    return dataclasses.replace(services, evaluation=fresh_kit)
