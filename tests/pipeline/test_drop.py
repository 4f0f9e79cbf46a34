"""The inbox blob trigger's service: validate, report next to the file, record the verdict."""

from __future__ import annotations

import json

from shared.pipeline import handle_dropped_blob
from shared.runs.names import FileKind
from shared.runs.states import RunState
from tests.pipeline.data import BROKEN_TRAIN, RUN_JSON, TRAIN, VALIDATION
from tests.pipeline.fakes import fake_services
from tests.pipeline.helpers import drop, tick, tick_until


def test_a_valid_training_file_is_reported_next_to_it_and_recorded_on_its_run():
    services = fake_services()
    outcome = drop(services, "minato/train.jsonl", TRAIN)

    assert (outcome.action, outcome.valid, outcome.run) == ("validated", True, "minato")
    report = services.reports.reports["minato/train.jsonl.report.json"]
    assert report["valid"] is True
    run = services.runs.get("minato")
    assert run.state is RunState.WAITING_FOR_FILES
    verdict = run.files[FileKind.TRAIN]
    assert verdict.valid and verdict.report_path == "minato/train.jsonl.report.json"
    assert verdict.blob_etag == services.inbox.info("minato/train.jsonl").etag
    assert "12 examples" in verdict.summary
    assert run.cost_estimate_usd is not None and run.cost_estimate_usd > 0


def test_the_same_blob_version_triggered_twice_is_validated_once():
    services = fake_services()
    drop(services, "minato/train.jsonl", TRAIN)
    services.reports.reports.clear()

    again = handle_dropped_blob(services, "minato/train.jsonl", services.clock())

    assert again.action == "duplicate"
    assert services.reports.reports == {}


def test_a_broken_training_file_gets_its_errors_with_lines_and_fails_the_run_before_upload():
    services = fake_services()
    outcome = drop(services, "minato/train.jsonl", BROKEN_TRAIN)

    assert outcome.valid is False
    report = services.reports.reports["minato/train.jsonl.report.json"]
    assert report["errors"][0]["line"] == 13
    assert "line 13" in outcome.detail

    tick_until(services, "minato", RunState.FAILED)
    run = services.runs.get("minato")
    assert run.failure_reason.startswith("train.jsonl is not valid: 1 error(s); first: line 13")
    assert services.fine_tuning.uploads == 0


def test_an_invalid_run_json_is_reported_with_every_problem_and_fails_the_run():
    services = fake_services()
    bad = json.dumps({"model": "gpt-2", "hyperparameters": {"n_epochs": 0}, "colour": 1})
    outcome = drop(services, "minato/run.json", bad.encode())
    drop(services, "minato/train.jsonl", TRAIN)

    assert outcome.valid is False
    messages = [
        e["message"] for e in services.reports.reports["minato/run.json.report.json"]["errors"]
    ]
    assert len(messages) == 3
    assert (
        'run.json: "hyperparameters.n_epochs" must be an integer from 1 to 50 or "auto"' in messages
    )
    tick_until(services, "minato", RunState.FAILED)
    assert services.runs.get("minato").failure_reason.startswith("run.json is not valid: run.json:")
    assert services.fine_tuning.uploads == 0


def test_a_valid_run_json_sets_the_runs_configuration():
    services = fake_services()
    drop(services, "minato/run.json", RUN_JSON)

    run = services.runs.get("minato")
    assert run.config.suffix == "minato" and run.config.n_epochs == 2
    assert (
        services.reports.reports["minato/run.json.report.json"]["config"]["deploy"]["ttl_hours"]
        == 1
    )


def test_a_validation_file_is_checked_with_the_training_file_so_overlap_is_reported():
    services = fake_services()
    drop(services, "minato/train.jsonl", TRAIN)
    overlapping = TRAIN.splitlines(keepends=True)[0] + VALIDATION
    drop(services, "minato/validation.jsonl", overlapping)

    report = services.reports.reports["minato/validation.jsonl.report.json"]
    codes = {warning["code"] for warning in report["warnings"]}
    assert "train_validation_overlap" in codes
    assert services.runs.get("minato").files[FileKind.VALIDATION].valid


def test_a_file_changed_after_the_run_started_is_recorded_as_ignored_and_not_validated():
    services = fake_services()
    drop(services, "minato/train.jsonl", TRAIN)
    drop(services, "minato/validation.jsonl", VALIDATION)
    tick(services)
    assert services.runs.get("minato").state is RunState.RUNNING
    services.reports.reports.clear()

    outcome = drop(services, "minato/train.jsonl", TRAIN + TRAIN)

    assert outcome.action == "ignored"
    assert "changed after the run started" in outcome.detail
    assert services.reports.reports == {}
    run = services.runs.get("minato")
    assert run.ignored[-1].kind is FileKind.TRAIN
    assert run.timeline[-1].reason.startswith("train.jsonl changed after the run started")
    assert services.fine_tuning.jobs_created == 1


def test_blobs_that_are_not_run_files_are_ignored_with_a_reason_and_never_recorded():
    services = fake_services()
    for name, reason in [
        ("train.jsonl", "not in a run folder"),
        ("a/b/train.jsonl", "nested folder"),
        ("../train.jsonl", "'..'"),
        ("run\\train.jsonl", "backslash"),
        ("run/notes.txt", "not a run file"),
        ("ru\u200bn/train.jsonl", "invisible"),
    ]:
        outcome = drop(services, name, TRAIN)
        assert outcome.action == "ignored", name
        assert reason in outcome.detail, (name, outcome.detail)
    assert services.runs.rows == {}
    assert services.reports.reports == {}


def test_a_run_file_in_a_badly_named_folder_gets_a_report_saying_why():
    services = fake_services()
    outcome = drop(services, "Minato_Bot/train.jsonl", TRAIN)

    assert outcome.action == "rejected"
    report = services.reports.reports["Minato_Bot/train.jsonl.report.json"]
    assert report["valid"] is False
    assert "may only hold lowercase letters" in report["errors"][0]["message"]
    assert services.runs.rows == {}


def test_a_huge_run_json_is_refused_with_the_size_limit():
    services = fake_services()
    outcome = drop(services, "minato/run.json", b"{" + b" " * (10 * 1024 * 1024) + b"}")
    assert outcome.valid is False
    assert outcome.detail == "run.json is over the limit of 65536 bytes"
