"""Deploying what run.json chose, and chat that refuses before calling any model, with real
adapters on Azurite and the emulator; the emulator's request log shows what was (not) called."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from azure.storage.blob import BlobServiceClient

from localdev.emulator import Fault
from shared.bootstrap import build_services
from shared.errors import Conflict
from shared.pipeline import advance_runs, chat, get_run, request_teardown
from shared.runs.states import RunState
from tests.adapters.conftest import FixedTokenCredential, settings_for
from tests.adapters.test_full_run import drop, tick_until, unique
from tests.pipeline.data import QUESTIONS, TRAIN, VALIDATION

S = RunState
CHAT = "/chat/completions"


@pytest.fixture
def services_without_base(azurite, emulator):
    """Real adapters with no BASE_DEPLOYMENT configured."""
    settings = settings_for(azurite, emulator, BASE_DEPLOYMENT="")
    built = build_services(settings, FixedTokenCredential())
    blobs = BlobServiceClient.from_connection_string(azurite.connection_string)
    blobs.create_container(settings.inbox_container)
    return built


def test_the_best_checkpoint_is_deployed_and_chat_refuses_compare_and_teardown_without_a_call(
    services_without_base, azurite, emulator
):
    services, run = services_without_base, unique("best")
    # Eight epochs on twelve examples: the emulated validation loss turns up after epoch 3, so
    # the oldest kept checkpoint (epoch 6) is the best of the three the service keeps.
    config = {"hyperparameters": {"n_epochs": 8}, "deploy": {"checkpoint": "best"}}
    drop(services, azurite, f"{run}/run.json", json.dumps(config).encode())
    drop(services, azurite, f"{run}/train.jsonl", TRAIN)
    drop(services, azurite, f"{run}/validation.jsonl", VALIDATION)
    tick_until(services, run, S.DEPLOYED)

    record = get_run(services.runs, run)
    kept = sorted(c.step for c in record.job.checkpoints)
    assert len(kept) == 3
    deployment = record.deployment
    assert deployment.checkpoint == "best" and deployment.checkpoint_step == kept[0]
    best = next(c for c in record.job.checkpoints if c.step == kept[0])
    assert deployment.model == best.id and best.id.startswith("ftchkpt-")  # deployed by its ID
    assert services.deployments.get(deployment.name).model == deployment.model
    assert f"step {kept[0]} has the lowest validation loss" in deployment.chosen_because
    assert record.job.hyperparameters == {
        "n_epochs": 8, "batch_size": 1, "learning_rate_multiplier": 0.1
    }  # fmt: skip
    assert isinstance(record.job.seed, int)
    assert record.overfitting.level == "overfitting"

    question, answer = QUESTIONS[0]
    messages = [{"role": "user", "content": question}]
    reply = chat(services, run, messages)
    assert answer in reply.reply and reply.model == best.model  # it answers under its name
    calls = emulator.count("POST", CHAT)

    with pytest.raises(Conflict, match=r"BASE_DEPLOYMENT"):
        chat(services, run, messages, compare=True)
    assert emulator.count("POST", CHAT) == calls

    request_teardown(services, run, datetime.now(UTC))
    with pytest.raises(Conflict, match="is being torn down on request"):
        chat(services, run, messages)
    assert emulator.count("POST", CHAT) == calls
    assert emulator.count("DELETE", f"/deployments/{deployment.name}") == 0  # not yet deleted


def test_a_deployment_arm_keeps_refusing_with_409_never_fails_the_run_and_deploys_once_it_may(
    real_services, azurite, emulator
):
    """A 409 on the PUT may be a full deployment quota (issue 22): past the retry limit of
    transient errors (8) the run still waits for room, and deploys when ARM accepts."""
    run = unique("conflicted")
    put = f"/deployments/tunedrop-{run}"
    emulator.inject(Fault("conflict", path_contains=put, method="PUT", times=10))
    drop(real_services, azurite, f"{run}/train.jsonl", TRAIN)
    drop(real_services, azurite, f"{run}/validation.jsonl", VALIDATION)
    tick_until(real_services, run, S.DEPLOYING)

    # The backoff waits 30 s and more between attempts: the clock jumps to each retry instead.
    at = datetime.now(UTC)
    for _ in range(40):
        record = get_run(real_services.runs, run)
        if record.state is not S.DEPLOYING or emulator.count("PUT", put) > 10:
            break
        if record.retry is not None:
            at = max(at, record.retry.next_attempt_at) + timedelta(seconds=1)
        advance_runs(real_services, at)
    record = get_run(real_services.runs, run)
    assert record.state is S.DEPLOYING and record.failure_reason is None
    assert record.deployment is not None and record.deployment.created
    notes = [e.reason for e in record.timeline if "never fails the run" in e.reason]
    assert len(notes) == 10
    assert "Another operation is in progress on this resource." in notes[-1]
    assert emulator.count("PUT", put) == 11
