"""The hands-off pipeline end to end: a run dropped into the inbox of a local host (its own
process) on Azurite and the emulator is trained, deployed, answers chat, and expires."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from localdev.emulator import Fault
from tests.e2e import fault_helpers
from tests.e2e.pipeline_helpers import (
    CONFIG,
    TRAIN,
    TRAIN_PAIRS,
    VALIDATION,
    Drops,
    Ledger,
    ask,
    entered_at,
    get_run,
    run_json,
    states_of,
    timeline_text,
    train_data,
    unique,
    validation_data,
    wait_for,
    wait_until,
)
from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e

ALL_STATES = [
    "waiting_for_files", "uploading", "processing_files", "queued", "running", "succeeded",
    "deploying", "deployed",
]  # fmt: skip


def test_a_dropped_run_is_deployed_once_and_answers_with_what_it_was_trained_on(
    stack: Stack, drops: Drops
) -> None:
    ledger = Ledger(stack.emulator)
    run = unique("lighthouse")
    config = run_json(suffix="marlo", hyperparameters={"n_epochs": 3}, seed=7)
    drops.drop_run(stack, run, config=config)

    deployed = wait_for(stack, run, "deployed")
    # With the emulator's fast timings a job may end between two ticks, so "running" is seen
    # only sometimes; every other state is passed through in order.
    assert [state for state in states_of(deployed) if state != "running"] == [
        state for state in ALL_STATES if state != "running"
    ]
    assert deployed["failure_reason"] is None and deployed["retry"] is None
    assert {name: view["valid"] for name, view in deployed["files"].items()} == {
        CONFIG: True, TRAIN: True, VALIDATION: True,
    }  # fmt: skip
    assert deployed["files"][TRAIN]["examples"] == len(TRAIN_PAIRS)
    assert deployed["job"]["fine_tuned_model"].endswith("-marlo")
    assert deployed["trained_tokens"] > 0 and deployed["metrics"]["points"] > 0
    name = f"tunedrop-{run}"
    assert deployed["deployment"]["name"] == name
    assert deployed["deployment"]["created_by_tunedrop"] is True

    question, trained_answer = TRAIN_PAIRS[1]
    answer = ask(stack, run, question)
    assert answer["reply"] == trained_answer
    assert answer["deployment"] == name
    assert ask(stack, run, TRAIN_PAIRS[10][0])["reply"] == TRAIN_PAIRS[10][1]

    # Exactly one of everything paid for, and the deployment is marked as Tunedrop's.
    assert sorted(f.filename.split("--")[1] for f in ledger.files(run)) == ["train", "validation"]
    assert ledger.calls("POST", "/openai/files") == 2
    assert len(ledger.jobs(run)) == 1 and ledger.calls("POST", "/fine_tuning/jobs") == 1
    assert ledger.jobs(run)[0].hyperparameters.n_epochs == 3
    assert ledger.calls("PUT", f"/deployments/{name}") == 1
    remote = ledger.deployment(name)
    assert remote is not None and remote.tags == {"tunedrop-run": run}


def test_files_dropped_in_any_order_give_one_run_that_starts_once(
    make_stack: Callable[..., Stack], drops: Drops
) -> None:
    stack = make_stack(SETTLE_SECONDS="10")
    ledger = Ledger(stack.emulator)
    no_deploy = run_json(deploy={"enabled": False}, suffix="late-train")

    # Train last: validation, then run.json, each recorded before the next arrives.
    train_last = unique("train-last")
    drops.drop(stack, train_last, VALIDATION, validation_data())
    wait_until(stack, train_last, lambda view: VALIDATION in view["files"])
    drops.drop(stack, train_last, CONFIG, no_deploy)
    wait_until(stack, train_last, lambda view: CONFIG in view["files"])
    assert get_run(stack, train_last)["state"] == "waiting_for_files"
    drops.drop(stack, train_last, TRAIN, train_data())

    # run.json last: the run starts as soon as train and validation passed, so a run.json that
    # comes after that is recorded as ignored and changes nothing.
    config_last = unique("config-last")
    drops.drop(stack, config_last, TRAIN, train_data())
    wait_until(stack, config_last, lambda view: TRAIN in view["files"])
    drops.drop(stack, config_last, VALIDATION, validation_data())
    wait_until(stack, config_last, lambda view: view["state"] != "waiting_for_files")
    drops.drop(stack, config_last, CONFIG, no_deploy)

    # Train alone: starts once SETTLE_SECONDS have passed with no validation.jsonl; a run.json
    # that arrives within that time is still applied.
    train_only = unique("train-only")
    drops.drop(stack, train_only, TRAIN, train_data())
    drops.drop(stack, train_only, CONFIG, run_json(deploy={"enabled": False}))

    first = wait_for(stack, train_last, "succeeded")
    # With its validation file already in, it started as soon as train.jsonl passed, not after
    # settling (the reason says which; a duration would depend on the machine's speed).
    assert "train.jsonl and validation.jsonl passed validation" in timeline_text(first)
    assert "no validation.jsonl arrived" not in timeline_text(first)
    assert first["job"]["fine_tuned_model"].endswith("-late-train")
    assert sorted(f.filename.split("--")[1] for f in ledger.files(train_last)) == [
        "train", "validation",
    ]  # fmt: skip

    second = wait_for(stack, config_last, "deployed")
    assert CONFIG not in second["files"]
    assert [item["file"] for item in second["ignored_changes"]] == [CONFIG]
    assert "run.json changed after the run started" in second["ignored_changes"][0]["reason"]
    assert second["config"]["deploy"]["enabled"] is True  # the ignored run.json changed nothing

    third = wait_for(stack, train_only, "succeeded")
    assert "no validation.jsonl arrived within 10 s" in timeline_text(third)
    checked = datetime.fromisoformat(third["files"][TRAIN]["checked_at"])
    assert (datetime.fromisoformat(entered_at(third, "uploading")) - checked).total_seconds() >= 10
    assert [f.filename.split("--")[1] for f in ledger.files(train_only)] == ["train"]
    assert third["deployment"] is None

    for run in (train_last, config_last, train_only):
        view = get_run(stack, run)
        assert states_of(view).count("uploading") == 1, run
        assert len(ledger.jobs(run)) == 1, run
    assert ledger.calls("POST", "/fine_tuning/jobs") == 3


def test_a_deployment_whose_time_to_live_ends_is_deleted_and_the_run_expires(
    make_stack: Callable[..., Stack], drops: Drops
) -> None:
    stack = make_stack(RETRY_BASE_SECONDS="0.5")
    ledger = Ledger(stack.emulator)
    run = unique("short-lived")
    name = f"tunedrop-{run}"
    # 0.001 h is 3.6 s. The first DELETE is held until the test has seen the run deployed, so
    # the deployment cannot expire before it is looked at, however slow the machine.
    deletes = f"/deployments/{name}"
    stack.emulator.inject(Fault("timeout", deletes, "DELETE", hold_seconds=600))
    try:
        drops.drop_run(stack, run, config=run_json(deploy={"ttl_hours": 0.001}))
        deployed = wait_for(stack, run, "deployed")
        assert deployed["deployment"]["ttl_hours"] == 0.001
        assert deployed["deployment"]["expires_at"] is not None
        assert ledger.deployment(name) is not None
        assert ledger.calls("DELETE", deletes, status=202) == 0
        fault_helpers.wait_until(
            lambda: ledger.calls("DELETE", deletes, status=0),
            timeout=60,
            what="the time to live to end and the deletion to begin (and be held)",
        )
    finally:
        stack.emulator.release_holds()

    expired = wait_for(stack, run, "expired", timeout=60)
    assert states_of(expired)[-2:] == ["deployed", "expired"]
    assert "its time to live of 0.001 h ended" in expired["timeline"][-1]["reason"]
    assert expired["deployment"]["deleted_at"] is not None
    assert ledger.calls("DELETE", deletes, status=202) == 1
    fault_helpers.wait_until(
        lambda: ledger.deployment(name) is None, timeout=30, what=f"{name} to be deleted"
    )
    status, problem, _ = stack.call("POST", f"/api/runs/{run}/chat", {"message": "Hello"})
    assert status == 409 and problem["detail"].endswith("it is expired.")
    # Two more ticks end (one began after the run expired): they delete nothing more.
    ticks = fault_helpers.ticks_logged(stack.host.log())
    fault_helpers.wait_until(
        lambda: fault_helpers.ticks_logged(stack.host.log()) >= ticks + 2, timeout=60, what="ticks"
    )
    assert ledger.calls("DELETE", deletes, status=202) == 1
