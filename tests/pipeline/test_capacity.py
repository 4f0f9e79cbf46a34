"""Runs wait for room on a shared account instead of failing: the tick counts the account once,
admits runs in the order they became ready, and a refusal for a full quota sends a run back to
waiting without ever counting toward the retry limit."""

from __future__ import annotations

from dataclasses import replace

from shared.errors import NoRoom
from shared.pipeline.protocols import RemoteDeployment, RemoteFile
from shared.runs.limits import AccountLimits
from shared.runs.states import RunState
from tests.pipeline.data import RUN_JSON, TRAIN, VALIDATION
from tests.pipeline.fakes import fake_services
from tests.pipeline.helpers import drop, tick, tick_until

S = RunState


def services_with(limits: AccountLimits, **overrides):
    services = fake_services(**overrides)
    return replace(services, policy=replace(services.policy, limits=limits))


def start(services, run: str) -> None:
    drop(services, f"{run}/run.json", RUN_JSON)
    drop(services, f"{run}/train.jsonl", TRAIN)
    drop(services, f"{run}/validation.jsonl", VALIDATION)


def test_a_run_waits_for_a_deployment_slot_another_tool_holds_and_says_so():
    services = services_with(AccountLimits(deployments=1))
    other = RemoteDeployment("someone-elses", "gpt-4o-mini-2024-07-18.ft-abc", "Succeeded")
    services.deployments.deployments["someone-elses"] = other
    start(services, "minato")
    tick_until(services, "minato", S.SUCCEEDED)
    for _ in range(3):
        tick(services)
    run = services.runs.get("minato")
    assert run.state is S.SUCCEEDED and run.failure_reason is None
    assert run.capacity_wait.reason == (
        "waiting for a deployment slot: 1 of 1 in use, 0 runs ahead"
    )
    assert sum(e.reason.startswith("waiting for a deployment slot") for e in run.timeline) == 1
    assert services.deployments.creates == {}

    del services.deployments.deployments["someone-elses"]
    tick_until(services, "minato", S.DEPLOYED)
    run = services.runs.get("minato")
    assert run.capacity_wait is None
    assert any("room on the account found" in e.reason for e in run.timeline)


def test_runs_start_in_the_order_they_became_ready_when_the_job_queue_is_full():
    services = services_with(AccountLimits(running_jobs=1, queued_jobs=0))
    start(services, "first")
    tick(services)
    start(services, "second")
    start(services, "third")
    tick(services)
    second, third = services.runs.get("second"), services.runs.get("third")
    assert (second.state, third.state) == (S.WAITING_FOR_FILES, S.WAITING_FOR_FILES)
    assert second.capacity_wait.reason.endswith("0 runs ahead")
    assert third.capacity_wait.reason.endswith("1 run ahead")
    while services.runs.get("second").state is S.WAITING_FOR_FILES:
        assert services.runs.get("third").state is S.WAITING_FOR_FILES
        tick(services)
    assert services.runs.get("third").state is S.WAITING_FOR_FILES


def test_other_tools_files_count_toward_the_file_limit():
    services = services_with(AccountLimits(files=4))
    for number in range(2):
        name = f"file-other-{number}"
        services.fine_tuning.files[name] = RemoteFile(name, f"{name}.jsonl", "processed")
    start(services, "minato")
    tick(services)
    run = services.runs.get("minato")
    assert run.state is S.WAITING_FOR_FILES
    assert run.capacity_wait.reason == (
        "waiting for room for its files: 2 of 4 files in use, 0 runs ahead"
    )


def test_a_quota_refusal_never_fails_the_run_however_often_it_comes():
    services = start_refused(times=6)  # the retry limit of the fakes' policy is 4
    tick_until(services, "minato", S.DEPLOYED, ticks=200)
    run = services.runs.get("minato")
    assert run.failure_reason is None
    notes = [e.reason for e in run.timeline if "never fails the run" in e.reason]
    assert len(notes) == 6 and "refusal 6" in notes[-1]
    assert services.deployments.creates == {"tunedrop-minato": 1}


def start_refused(times: int):
    services = fake_services()
    start(services, "minato")
    tick_until(services, "minato", S.SUCCEEDED)
    for _ in range(times):
        services.deployments.faults.add("create", NoRoom("429 quotaExceeded", retry_after=5))
    return services
