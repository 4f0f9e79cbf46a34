"""A run cleans up what it put on the service once its job is over, and notices a deployment
that vanished behind its back."""

from __future__ import annotations

from dataclasses import replace

import pytest

from shared.errors import Conflict
from shared.pipeline import chat
from shared.pipeline.commands import cancel_run, request_deploy
from shared.pipeline.protocols import RemoteFile
from shared.runs.names import FileKind
from shared.runs.states import RunState
from tests.pipeline.data import RUN_JSON, TRAIN, VALIDATION
from tests.pipeline.fakes import fake_services
from tests.pipeline.helpers import drop, tick, tick_until

S = RunState


def started(**policy):
    services = fake_services()
    services = replace(services, policy=replace(services.policy, **policy))
    drop(services, "minato/run.json", RUN_JSON)
    drop(services, "minato/train.jsonl", TRAIN)
    drop(services, "minato/validation.jsonl", VALIDATION)
    return services


def test_a_trained_run_deletes_its_uploads_and_results_file_and_nothing_else():
    services = started()
    services.fine_tuning.files["file-theirs"] = RemoteFile(
        "file-theirs", "theirs.jsonl", "processed"
    )
    tick_until(services, "minato", S.DEPLOYED)
    run = services.runs.get("minato")
    uploads = {kind: item.file_id for kind, item in run.uploads.items()}
    assert services.fine_tuning.deleted == {*uploads.values(), "file-results"}
    assert "file-theirs" in services.fine_tuning.files
    notes = [e.reason for e in run.timeline if e.reason.startswith("deleted ")]
    assert notes == [
        f"deleted train.jsonl ({uploads[FileKind.TRAIN]}) from Azure OpenAI",
        f"deleted validation.jsonl ({uploads[FileKind.VALIDATION]}) from Azure OpenAI",
        "deleted the job's results file (file-results) from Azure OpenAI",
    ]
    assert services.runs.points("minato"), "the curves were saved before the results went"


def test_files_kept_for_ever_stay_and_the_run_is_not_watched_for_them():
    services = started(keep_files_hours=None)
    tick_until(services, "minato", S.DEPLOYED)
    run = services.runs.get("minato")
    assert services.fine_tuning.deleted == set()
    assert any("KEEP_SERVICE_FILES_HOURS=forever" in e.reason for e in run.timeline)


def test_files_kept_for_a_while_go_when_their_time_comes():
    services = started(keep_files_hours=2)
    tick_until(services, "minato", S.DEPLOYED)
    assert services.fine_tuning.deleted == set()
    for _ in range(2 * 60 * 2 + 1):  # ticks of 30 s
        tick(services)
    assert len(services.fine_tuning.deleted) == 3
    assert not services.runs.get("minato").is_active  # expired and clean: nothing to watch


def test_a_cancelled_run_deletes_its_uploads_once_its_job_is_cancelled():
    services = started()
    services.fine_tuning.job_statuses = ["running"]
    tick_until(services, "minato", S.RUNNING)
    assert services.fine_tuning.deleted == set()  # the job still trains on them
    cancel_run(services, "minato", services.clock())
    tick(services)
    run = services.runs.get("minato")
    assert run.state is S.CANCELLED
    assert services.fine_tuning.deleted == {item.file_id for item in run.uploads.values()}
    assert not run.is_active


def test_a_deployment_deleted_behind_tunedrops_back_is_noticed_and_can_be_deployed_again():
    services = started(deployment_check_minutes=30)
    tick_until(services, "minato", S.DEPLOYED)
    del services.deployments.deployments["tunedrop-minato"]
    tick(services, seconds=60)
    assert services.runs.get("minato").state is S.DEPLOYED  # not checked again yet
    tick(services, seconds=30 * 60)
    run = services.runs.get("minato")
    assert run.state is S.EXPIRED and run.failure_reason is None
    assert "is gone: deleted outside Tunedrop" in run.deployment.error
    assert "15 days" in run.deployment.error
    with pytest.raises(Conflict, match="is gone: deleted outside Tunedrop"):
        chat(services, "minato", [{"role": "user", "content": "hi"}])
    request_deploy(services, "minato", services.clock())
    tick_until(services, "minato", S.DEPLOYED)
    assert services.deployments.creates == {"tunedrop-minato": 2}


def test_chat_that_finds_no_deployment_notices_at_once_that_it_vanished():
    services = started()
    tick_until(services, "minato", S.DEPLOYED)
    del services.deployments.deployments["tunedrop-minato"]
    services.chat.not_ready_calls = 10**6  # chat answers DeploymentNotFound, as the service
    with pytest.raises(Conflict, match="POST /api/runs/minato/deploy deploys the model again"):
        chat(services, "minato", [{"role": "user", "content": "hi"}])
    assert services.runs.get("minato").state is S.EXPIRED


def test_a_deployment_that_still_exists_is_only_read_back():
    services = started(deployment_check_minutes=30)
    tick_until(services, "minato", S.DEPLOYED)
    reads = services.deployments.polls["tunedrop-minato"]
    tick(services, seconds=31 * 60)
    run = services.runs.get("minato")
    assert run.state is S.DEPLOYED and run.deployment.checked_at is not None
    assert services.deployments.polls["tunedrop-minato"] == reads + 1
