"""The improvement service on fakes: with no hands after the verdict that calls for it, once per
evaluation however often it is asked, and never past its cost cap."""

from __future__ import annotations

import dataclasses
import json
from functools import partial
from typing import Any

import pytest

from shared.errors import Conflict
from shared.improvement.ports import ImprovementKit, ImprovementSettings
from shared.improvement.service import auto_improve, improve_run
from tests.evaluation.fakes import FakeEvaluationReports, FakeModelCalls, deployed_run
from tests.evaluation.test_service import evaluate
from tests.pipeline.data import RUN_JSON

PROBE_PREFIX = "もしもし、"  # the fake grader's first paraphrase: a probe of the evaluation


class FakeGrader(FakeModelCalls):
    """Also writes phrasings: one new, one that is word for word a probe of the evaluation."""

    def _grade(self, schema: str, payload: dict[str, Any]) -> str:
        if schema != "tunedrop_phrasings":
            return super()._grade(schema, payload)
        empty = {"lead_in": "", "lead_in_reply": ""}
        found = [
            {**empty, "variation": "politeness", "question": "ところで、" + payload["question"]},
            {**empty, "variation": "wording", "question": PROBE_PREFIX + payload["question"]},
        ]
        return json.dumps({"phrasings": found}, ensure_ascii=False)


class FakeImprovementFiles(FakeEvaluationReports):
    def read_text(self, path: str) -> str | None:
        document = self.documents.get(path)
        return document if isinstance(document, str) else None


class FakeInboxWriter:
    def __init__(self, inbox: Any) -> None:
        self.inbox = inbox
        self.created: list[str] = []

    def has_folder(self, run: str) -> bool:
        return any(name.startswith(f"{run}/") for name in self.inbox.blobs)

    def create(self, path: str, content: bytes) -> bool:
        if path in self.inbox.blobs:
            return False
        self.inbox.put(path, content)
        self.created.append(path)
        return True


def improvable(run_json: bytes = RUN_JSON, **settings: Any) -> tuple[Any, ImprovementKit]:
    services = deployed_run(FakeGrader(), validation=False, run_json=run_json)
    files = FakeImprovementFiles()
    files.documents = services.evaluation.reports.documents  # one reports container
    kit = ImprovementKit(ImprovementSettings(**settings), FakeInboxWriter(services.inbox), files)
    hook = partial(auto_improve, kit)
    services = dataclasses.replace(
        services, evaluation=dataclasses.replace(services.evaluation, on_evaluated=hook)
    )
    return services, kit


def auto(config: dict[str, Any]) -> bytes:
    return json.dumps({**json.loads(RUN_JSON), "improve": config}).encode()


def test_with_auto_the_verdict_starts_a_child_with_the_new_phrasings_and_none_of_the_probes():
    services, kit = improvable(auto({"auto": True, "max_usd": 5}))
    run = evaluate(services)
    assert run.evaluation.verdict == "learned the trained phrasings only"

    assert sorted(kit.inbox.created) == [
        "minato-r2/probes.jsonl", "minato-r2/run.json", "minato-r2/train.jsonl",
    ]  # fmt: skip
    train = kit.inbox.inbox.blobs["minato-r2/train.jsonl"][0].decode()
    questions = [json.loads(line)["messages"][-2]["content"] for line in train.splitlines()]
    assert sum(q.startswith("ところで、") for q in questions) == 12
    assert not any(q.startswith(PROBE_PREFIX) for q in questions)
    notes = [entry.reason for entry in services.runs.get("minato").timeline]
    assert any(n.startswith("improvement written: 12 new phrasings") for n in notes)
    assert any(n.startswith("improvement started: child run minato-r2 dropped") for n in notes)
    raised = [(e.name, e.data["improvement"]["stage"]) for _, e in services.runs.events
              if e.name == "improved"]  # fmt: skip
    assert raised == [("improved", "written"), ("improved", "started")]


def test_asking_again_returns_the_same_child_and_writes_nothing_twice():
    services, kit = improvable(auto({"auto": True}))
    evaluate(services)
    calls = len(services.evaluation.models.log)
    created = list(kit.inbox.created)

    entry = improve_run(services, kit, "minato", services.clock(), start=True)
    assert entry["run"] == "minato-r2" and entry["status"] == "started"
    assert kit.inbox.created == created  # no second child, no blob written again
    assert len(services.evaluation.models.log) == calls  # and no grader call either


def test_without_auto_nothing_happens_and_a_request_writes_the_files_only():
    services, kit = improvable()
    evaluate(services)
    assert kit.inbox.created == []

    entry = improve_run(services, kit, "minato", services.clock(), start=False)
    assert entry["status"] == "written" and kit.inbox.created == []
    assert entry["files"]["train.jsonl"] == "minato/improvement/minato-r2/train.jsonl"
    assert '{"start": true}' in entry["how_to_start"]


def test_a_child_over_the_cap_is_refused_and_its_files_stay_in_the_reports():
    services, kit = improvable(max_usd=0.00001)
    evaluate(services)
    with pytest.raises(Conflict) as refused:
        improve_run(services, kit, "minato", services.clock(), start=True)
    assert str(refused.value).startswith("child run minato-r2 not started: its training is ")
    assert "over the cap of $1e-05 (IMPROVE_MAX_USD)" in str(refused.value)
    assert kit.inbox.created == []
    assert "minato/improvement/minato-r2/train.jsonl" in kit.reports.documents
    # A higher cap in the request starts the same child.
    entry = improve_run(services, kit, "minato", services.clock(), start=True, max_usd=10)
    assert entry["status"] == "started" and "refused" not in entry


def test_with_auto_a_refusal_is_a_note_in_the_timeline_not_an_error():
    services, kit = improvable(auto({"auto": True, "max_usd": 0}))
    run = evaluate(services)
    assert run.evaluation.status.value == "evaluated" and kit.inbox.created == []
    notes = [entry.reason for entry in services.runs.get("minato").timeline]
    assert any(
        n.startswith("improvement not started: child run minato-r2 not started") for n in notes
    )


def test_a_run_without_an_evaluation_cannot_be_improved():
    services, kit = improvable()
    with pytest.raises(Conflict, match="no finished evaluation to improve on"):
        improve_run(services, kit, "minato", services.clock(), start=False)


def test_the_child_gets_the_parents_validation_file_and_its_probes_are_kept_apart():
    services = deployed_run(FakeGrader(), validation=True)
    files = FakeImprovementFiles()
    files.documents = services.evaluation.reports.documents
    kit = ImprovementKit(ImprovementSettings(), FakeInboxWriter(services.inbox), files)
    evaluate(services)

    entry = improve_run(services, kit, "minato", services.clock(), start=True)
    assert sorted(entry["files"]) == ["probes.jsonl", "run.json", "train.jsonl", "validation.jsonl"]
    parent_validation = services.inbox.blobs["minato/validation.jsonl"][0]
    assert services.inbox.blobs["minato-r2/validation.jsonl"][0] == parent_validation
    probes = services.inbox.blobs["minato-r2/probes.jsonl"][0].decode().splitlines()
    parent = services.evaluation.reports.documents["minato/evaluation.json"]["items"]
    paraphrased = [i for i in parent if i["set"] == "paraphrased"]
    assert len(probes) == len(paraphrased) and len(paraphrased) < len(parent)
    assert [json.loads(line)["messages"][-2] for line in probes] == [
        i["messages"][-1] for i in paraphrased
    ]
