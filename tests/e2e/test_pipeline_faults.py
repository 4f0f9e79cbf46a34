"""Faults end to end: throttling, server errors and timeouts from Azure OpenAI and ARM delay a
run but do not fail it; a failed job, a file the service cannot process and an invalid run.json
each end the run `failed`, with the reason where the user looks for it."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable

import pytest

from localdev.emulator import Emulator, Fault
from tests.e2e.pipeline_helpers import (
    CONFIG,
    Drops,
    Ledger,
    run_json,
    states_of,
    timeline_text,
    unique,
    wait_for,
)
from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e


def test_throttling_server_errors_and_timeouts_delay_a_run_but_it_still_deploys(
    make_stack: Callable[..., Stack], drops: Drops
) -> None:
    stack = make_stack(RETRY_BASE_SECONDS="0.5")
    ledger = Ledger(stack.emulator)
    run = unique("bumpy")
    name = f"tunedrop-{run}"
    faults = [
        Fault("throttle", path_contains="/openai/files", method="POST", times=2, retry_after=1),
        Fault("server_error", path_contains="/fine_tuning/jobs", method="POST", times=2),
        Fault("timeout", path_contains="/fine_tuning/jobs/ftjob-", method="GET", hold_seconds=1),
        Fault("throttle", path_contains=f"/deployments/{name}", method="PUT", retry_after=2),
        Fault("server_error", path_contains=f"/deployments/{name}", method="GET"),
        Fault("server_error", path_contains=f"/deployments/{name}/chat", method="POST"),
    ]
    for fault in faults:
        stack.emulator.inject(fault)
    drops.drop_run(stack, run)

    deployed = wait_for(stack, run, "deployed", timeout=60)
    assert deployed["failure_reason"] is None and deployed["retry"] is None
    assert "failed" not in states_of(deployed)
    notes = timeline_text(deployed)
    for step in ("UploadFile", "CreateJob", "PollJob", "CreateDeployment", "ProbeChat"):
        assert f"{step} will be tried again" in notes, step
    assert "429" in notes and "500" in notes
    assert armed_faults(stack.emulator) == [], "every injected fault was hit"

    # Each fault cost a refused call, never a second file, job or deployment.
    assert ledger.calls("POST", "/openai/files", status=429) == 2
    assert ledger.calls("POST", "/openai/files", status=201) == 2
    assert len(ledger.files(run)) == 2
    assert ledger.calls("POST", "/fine_tuning/jobs", status=500) == 2
    assert ledger.calls("POST", "/fine_tuning/jobs", status=201) == 1
    assert len(ledger.jobs(run)) == 1
    assert ledger.calls("GET", "/fine_tuning/jobs/ftjob-", status=0) == 1
    throttled, created = (
        ledger.records("PUT", f"/deployments/{name}", status=status)[0] for status in (429, 201)
    )
    assert ledger.calls("PUT", f"/deployments/{name}") == 2
    waited = created.time - throttled.time
    assert waited >= 2, f"the Retry-After of 2 s was not waited for ({waited:.2f} s)"


def test_a_failing_job_a_file_in_error_and_an_invalid_run_json_each_fail_with_the_reason(
    stack: Stack, drops: Drops
) -> None:
    ledger = Ledger(stack.emulator)
    bad_config = unique("bad-config")
    drops.drop_run(stack, bad_config, config=run_json(hyperparameters={"n_epochs": 0}))

    # One fault at a time: each life-cycle fault marks the next file or job anyone creates.
    bad_file = unique("bad-file")
    file_problem = "line 7: the assistant message is cut off in the middle of a word."
    stack.emulator.inject(Fault("file_error", "/openai/files", message=file_problem))
    drops.drop_run(stack, bad_file)
    failed_file = wait_for(stack, bad_file, "failed")

    bad_job = unique("bad-job")
    job_problem = "Training loss diverged at step 4; lower the learning rate multiplier."
    stack.emulator.inject(Fault("job_fails", "/fine_tuning/jobs", message=job_problem))
    drops.drop_run(stack, bad_job)
    failed_job = wait_for(stack, bad_job, "failed")
    failed_config = wait_for(stack, bad_config, "failed")

    assert failed_config["failure_reason"] == (
        'run.json is not valid: run.json: "hyperparameters.n_epochs" must be an integer from 1 '
        'to 50 or "auto"'
    )
    assert failed_config["files"][CONFIG]["valid"] is False
    assert states_of(failed_config) == ["waiting_for_files", "failed"]
    assert ledger.files(bad_config) == []  # nothing was uploaded, nothing paid for
    report = stack.reports.get_blob_client(f"{bad_config}/{CONFIG}.report.json")
    errors = json.loads(report.download_blob().readall())["errors"]
    assert [error["code"] for error in errors] == ["invalid_run_config"]

    assert failed_file["failure_reason"] == (
        f"Azure OpenAI could not process train.jsonl: {file_problem}"
    )
    assert failed_file["uploads"]["train.jsonl"] == {
        "file_id": failed_file["uploads"]["train.jsonl"]["file_id"],
        "status": "error",
        "error": file_problem,
    }
    assert ledger.jobs(bad_file) == []

    assert failed_job["failure_reason"] == f"the fine-tuning job failed: {job_problem}"
    assert failed_job["job"]["error"] == job_problem and failed_job["job"]["status"] == "failed"
    assert states_of(failed_job)[-1] == "failed" and "deploying" not in states_of(failed_job)
    assert len(ledger.jobs(bad_job)) == 1
    assert ledger.calls("PUT", f"/deployments/tunedrop-{bad_job}") == 0

    for run in (bad_config, bad_file, bad_job):
        status, problem, _ = stack.call("POST", f"/api/runs/{run}/deploy")
        assert status == 409 and problem["detail"].endswith("it is failed."), run


def armed_faults(emulator: Emulator) -> list[dict[str, object]]:
    """The faults still armed, from the emulator's admin endpoint."""
    with urllib.request.urlopen(f"{emulator.url}/_emulator/faults", timeout=5) as answer:
        return json.loads(answer.read())["data"]
