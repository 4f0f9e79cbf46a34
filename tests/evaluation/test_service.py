"""The evaluation service on fakes: started with no hands once deployed, spread over ticks,
resumed after a restart without asking anything twice, within its call cap, polite to 429s."""

from __future__ import annotations

import dataclasses
import json

import pytest

from shared.errors import Conflict
from shared.evaluation.commands import request_evaluation
from shared.evaluation.sources import report_path
from shared.runs.states import RunState
from tests.evaluation.fakes import (
    BASE,
    GRADER,
    TUNED,
    FakeModelCalls,
    deployed_run,
    restarted,
)
from tests.pipeline.data import QUESTIONS, RUN_JSON, example, jsonl
from tests.pipeline.fakes import fake_services
from tests.pipeline.helpers import drop, tick

REPORT = report_path("minato")


def evaluate(services, ticks: int = 60):
    for _ in range(ticks):
        tick(services)
        flag = services.runs.get("minato").evaluation
        if flag is not None and flag.status.value in ("evaluated", "skipped"):
            return services.runs.get("minato")
    raise AssertionError(f"not evaluated after {ticks} ticks: {flag}")


def report(services):
    return services.evaluation.reports.documents[REPORT]


def test_a_model_that_knows_only_its_trained_wording_is_told_so_with_counts_and_an_action():
    services = deployed_run()
    run = evaluate(services)

    flag = run.evaluation
    assert flag.verdict == "learned the trained phrasings only"
    assert flag.headline == "learned the trained phrasings only: 24 of 24 paraphrases missed"
    assert "two or three phrasings" in flag.action
    notes = [e.reason for e in run.timeline if e.from_state is e.to_state is RunState.DEPLOYED]
    assert notes[0].startswith("evaluation started: 12 trained, 10 validation")
    assert notes[-1] == f"evaluated: {flag.headline}"
    assert run.state is RunState.DEPLOYED
    # Every item is in the report, with the reply of each model, the judge's facts and chrF.
    items = {item["id"]: item for item in report(services)["items"]}
    assert items["t1"]["outcomes"] == {"tuned": "pass", "base": "fail"}
    assert items["t1p1"]["results"]["judge_tuned"]["missing"] == [QUESTIONS[0][1]]
    assert items["t1"]["results"]["tuned"]["verbatim"] is True
    assert isinstance(items["t1p1"]["results"]["tuned"]["chrf"], float)
    assert services.evaluation.reports.documents["minato/evaluation.md"].startswith(
        "# Evaluation of run minato"
    )


def test_a_model_that_answers_the_paraphrases_generalizes():
    knows = {p + q: a for q, a in QUESTIONS for p in ("もしもし、", "すみません、", "ねえ、")}
    run = evaluate(deployed_run(FakeModelCalls(also_knows=knows)))
    assert run.evaluation.headline == (
        "generalizes: 24 of 24 paraphrases answered, 10 of 10 validation questions"
    )


def test_paraphrases_that_repeat_a_validation_question_are_dropped_and_listed():
    models = FakeModelCalls(prefixes=("ねえ、", "もしもし、"))
    services = deployed_run(models)
    evaluate(services)
    dropped = report(services)["dropped_paraphrases"]
    # The validation file asks "ねえ、" + the first ten questions; the eleventh differs from its
    # original by a greeting only.
    repeats = [d["origin"] for d in dropped if d["reason"].startswith("repeats a training")]
    assert repeats == [f"t{n}" for n in range(1, 11)]
    assert [d["reason"] for d in dropped[10:]] == ["too close to its original (similarity 0.91)"]
    probes = services.evaluation.reports.documents["minato/evaluation.probes.jsonl"]
    first = json.loads(probes.splitlines()[0])
    assert [m["role"] for m in first["messages"]] == ["system", "user", "assistant"]


def test_an_evaluation_spread_over_many_ticks_survives_restarts_without_asking_twice():
    services = deployed_run(calls_per_tick=3)
    models = services.evaluation.models
    ticks = 0
    while services.runs.get("minato").evaluation is None or (
        services.runs.get("minato").evaluation.status.value != "evaluated"
    ):
        tick(services)
        services = restarted(services)  # every tick on a freshly started host
        ticks += 1
        assert ticks < 200
    assert ticks > 40
    # Every probe was put to each model once; the grader wrote 12 sets of paraphrases and
    # judged each of the 2 x 46 replies once (a tuned and a base reply may read the same).
    asks = [call for call in models.log if call[0] in (TUNED, BASE)]
    assert len(asks) == len(set(asks)) == 2 * (12 + 24 + 10)
    grader = [call for call in models.log if call[0] == GRADER]
    assert len(grader) == 12 + 2 * (12 + 24 + 10)
    calls = len(models.log)
    assert calls == report(services)["calls"]
    tick(services)
    assert len(models.log) == calls  # finished: nothing more is asked


def test_the_call_cap_stops_the_evaluation_and_the_rest_is_skipped():
    services = deployed_run(call_cap=30)
    run = evaluate(services)
    document = report(services)
    assert len(services.evaluation.models.log) == document["calls"] == 30
    assert document["stopped"] == "the call cap of 30 (EVAL_MAX_CALLS) was reached"
    outcomes = [item["outcomes"]["tuned"] for item in document["items"]]
    assert "skipped" in outcomes
    assert run.evaluation.verdict == "not enough evidence"


def test_a_throttled_call_waits_for_retry_after_on_a_later_tick_and_is_asked_once_more():
    models = FakeModelCalls()
    services = deployed_run(models)
    models.throttle[TUNED] = 1
    tick(services)  # starts, paraphrases, then the tuned deployment answers 429
    run = services.runs.get("minato")
    assert run.retry is not None and run.retry.step == "EvaluateModel"
    assert (run.retry.next_attempt_at - services.clock()).total_seconds() >= 30
    assert run.claim is None
    calls = len(models.log)
    tick(services, seconds=10)  # too early: nothing is asked
    assert len(models.log) == calls
    evaluate(services)
    asked = models.asked()
    question = json.dumps(QUESTIONS[0][0], ensure_ascii=False)
    first_probe = [
        call for call in asked if call[0] == TUNED and call[1].endswith(f"{question}}}]")
    ]
    assert [asked[call] for call in first_probe] == [2]  # the throttled one, then its answer
    assert report(services)["items"][0]["outcomes"]["tuned"] == "pass"


def test_an_unreadable_judge_answer_is_an_error_never_a_fail():
    services = deployed_run(FakeModelCalls(judge_answer="I think it is mostly right."))
    run = evaluate(services)
    outcomes = {item["outcomes"]["tuned"] for item in report(services)["items"]}
    assert outcomes == {"error"}
    assert run.evaluation.verdict == "not enough evidence"
    assert "could not score" in run.evaluation.headline
    judge = report(services)["items"][0]["results"]["judge_tuned"]
    assert judge["error"].startswith("the judge's answer could not be read: ")


def test_without_a_grader_only_deterministic_scores_are_reported_and_no_judge_is_asked():
    services = deployed_run(grader_deployment="")
    run = evaluate(services)
    models = services.evaluation.models
    assert {deployment for deployment, _ in models.log} == {TUNED, BASE}
    assert run.evaluation.verdict == "not enough evidence"
    assert "no judge configured" in run.evaluation.headline
    document = report(services)
    assert document["judge"] is False and document["probe_source"] == "none"
    trained = next(s for s in document["scores"] if (s["set"], s["model"]) == ("trained", "tuned"))
    assert trained["chrf_mean"] == 100.0 and trained["unjudged"] == 12


def test_a_dropped_probes_file_is_used_instead_of_generating_paraphrases():
    probes = jsonl([example("ミナトさん、" + q, a) for q, a in QUESTIONS[:4]])
    services = deployed_run(extra_files={"minato/probes.jsonl": probes})
    evaluate(services)
    document = report(services)
    assert document["probe_source"] == "probes.jsonl"
    paraphrased = [i for i in document["items"] if i["set"] == "paraphrased"]
    assert [i["messages"][-1]["content"] for i in paraphrased] == [
        "ミナトさん、" + q for q, _ in QUESTIONS[:4]
    ]
    models = services.evaluation.models
    grader_calls = [call for deployment, call in models.log if deployment == GRADER]
    assert grader_calls and not any('\\"count\\"' in call for call in grader_calls)
    validation = services.reports.reports["minato/probes.jsonl.report.json"]
    assert validation["valid"] is True  # four probes are enough: no minimum of ten


def test_run_json_evaluate_false_skips_the_evaluation_with_a_note():
    run_json = json.dumps({**json.loads(RUN_JSON), "evaluate": False}).encode()
    services = deployed_run(run_json=run_json)
    run = evaluate(services)
    assert run.evaluation.status.value == "skipped"
    assert run.timeline[-1].reason == 'evaluation skipped: run.json says "evaluate": false'
    assert services.evaluation.models.log == []
    assert services.runs.events[-1][1].name == "evaluation_skipped"


def test_a_rerun_on_request_asks_again_with_the_same_generated_paraphrases():
    services = deployed_run()
    first = evaluate(services).evaluation
    questions = [i["messages"][-1]["content"] for i in report(services)["items"]]
    request_evaluation(services, "minato", services.clock())
    assert services.runs.get("minato").evaluation.status.value == "requested"
    second = evaluate(services).evaluation
    assert (first.attempt, second.attempt) == (1, 2)
    assert [i["messages"][-1]["content"] for i in report(services)["items"]] == questions
    assert report(services)["attempt"] == 2 and second.headline == first.headline


def test_only_a_deployed_run_can_be_evaluated():
    services = deployed_run()
    run = services.runs.get("minato")
    run.deployment.teardown_requested = True
    services.runs.save(run)
    while services.runs.get("minato").state is not RunState.EXPIRED:
        tick(services)
    with pytest.raises(Conflict, match="only a deployed model can be evaluated"):
        request_evaluation(services, "minato", services.clock())


def test_with_evaluation_turned_off_a_deployed_run_is_left_alone_and_a_request_refused():
    services = deployed_run()
    off = dataclasses.replace(services, policy=dataclasses.replace(services.policy, evaluate=False))
    for _ in range(3):
        tick(off)
    assert off.runs.get("minato").evaluation is None and off.evaluation.models.log == []
    with pytest.raises(Conflict, match=r"evaluation is turned off \(EVAL_ENABLED is false\)"):
        request_evaluation(off, "minato", off.clock())


def test_a_dropped_probes_file_is_validated_at_once_with_its_own_report_and_no_run():
    services = fake_services()
    few = jsonl([example("ミナトさん、" + q, a) for q, a in QUESTIONS[:2]])
    outcome = drop(services, "minato/probes.jsonl", few)
    assert (outcome.action, outcome.valid) == ("validated", True)
    assert services.reports.reports["minato/probes.jsonl.report.json"]["valid"] is True
    assert services.runs.find("minato") is None  # probes alone start nothing

    broken = few + b'{"messages": [{"role": "user", "content": "only a question"}]}\n'
    outcome = drop(services, "minato/probes.jsonl", broken)
    report = services.reports.reports["minato/probes.jsonl.report.json"]
    assert (outcome.valid, report["valid"]) == (False, False)
    assert [(e["line"], e["code"]) for e in report["errors"]] == [(3, "no_assistant_message")]


def test_a_tick_starts_no_call_after_its_time_budget_even_with_calls_left():
    class SlowModels(FakeModelCalls):
        """A deployment that takes 50 s to answer, as a busy capacity-1 one may."""

        def ask(self, *args, **kwargs):
            services.clock.advance(50)
            return super().ask(*args, **kwargs)

    models = SlowModels()
    services = deployed_run(models, calls_per_tick=100, tick_seconds=120)
    tick(services)
    assert len(models.log) == 3  # started at 0, 50 and 100 s; none at 150 s
    assert services.runs.get("minato").evaluation.status.value == "evaluating"


def test_the_report_and_the_run_view_fit_the_documented_schemas():
    from jsonschema import Draft202012Validator, ValidationError

    from shared.api.openapi import openapi_document
    from shared.api.views import run_view
    from shared.evaluation.commands import read_report

    document = openapi_document()
    services = deployed_run()
    run = evaluate(services)

    def check(name: str, value: object) -> None:
        schema = {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
        Draft202012Validator(schema).validate(value)

    check("Evaluation", read_report(services, run))
    check("Run", run_view(run))
    broken = {**read_report(services, run), "status": "finished"}
    with pytest.raises(ValidationError, match="'finished' is not one of"):
        check("Evaluation", broken)


def test_receivers_get_an_event_when_the_evaluation_starts_and_one_with_the_verdict():
    from shared.notifications.events import event_payload

    services = deployed_run()
    run = evaluate(services)
    outbox = [raised for name, raised in services.runs.events if name == "minato"]
    payloads = [event_payload(run, raised, "evt_" + "0" * 32) for raised in outbox]
    types = [p["type"] for p in payloads]
    assert types[-2:] == ["tunedrop.run.evaluation_started", "tunedrop.run.evaluated"]
    evaluated = payloads[-1]["data"]
    assert evaluated["state"] == "deployed"
    assert evaluated["evaluation"]["verdict"] == "learned the trained phrasings only"
    assert evaluated["reason"] == run.evaluation.headline
    assert payloads[-2]["data"]["evaluation"]["estimated_tokens"] > 0
