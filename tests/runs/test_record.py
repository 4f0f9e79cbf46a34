"""The run record's domain methods, and its round trip through the codec."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.errors import IllegalTransition
from shared.runs.codec import run_from_dict, run_to_dict
from shared.runs.config import RunDefaults, default_config
from shared.runs.curves import Verdict
from shared.runs.facts import (
    Checkpoint,
    DeploymentInfo,
    FilesCleanup,
    FileVerdict,
    JobEvent,
    MetricsSummary,
    UploadedFile,
)
from shared.runs.names import FileKind
from shared.runs.record import Run
from shared.runs.retry import RetryPolicy
from shared.runs.states import RunState
from tests.pipeline.fakes import T0

S = RunState
CONFIG = default_config(RunDefaults("gpt-4o-mini-2024-07-18"))


def full_run() -> Run:
    run = Run.new("minato", T0)
    stats = {"estimated_training_cost_usd": 0.25}
    run.file_validated(FileKind.TRAIN, FileVerdict('"0x1"', True, "r", "ok", T0, stats))
    run.file_validated(FileKind.CONFIG, FileVerdict('"0x2"', True, "r", "ok", T0), CONFIG)
    run.start(T0, CONFIG, "go")
    run.file_uploaded(FileKind.TRAIN, UploadedFile("file-1", "f", "processed"), T0)
    run.job_created("ftjob-1", "pending", T0)
    run.events_seen([JobEvent("e1", T0, "info", "queued")], T0)
    run.checkpoints_seen([Checkpoint("c1", 10, "m:ckpt", {"train_loss": 0.5})], T0)
    verdict = Verdict(False, "fine", 1.4, 10, "watch", "fewer epochs", 0.02)
    run.curves_recorded(MetricsSummary(3, 10, 0.5, 0.7), verdict)
    hyper = {"n_epochs": 3, "batch_size": 1, "learning_rate_multiplier": 0.1}
    run.job_observed("succeeded", T0, "ft", 99, hyperparameters=hyper, seed=7)
    run.deployment_requested(DeploymentInfo("tunedrop-minato", "Standard", 1, 2.0, T0), T0, "d")
    run.deployment_created("ft", "Succeeded", True, T0)
    run.deployment_serving(T0 + timedelta(minutes=1))
    run.change_ignored(FileKind.TRAIN, '"0x9"', T0)
    return run


def test_a_full_record_round_trips_through_plain_data():
    run = full_run()
    data = run_to_dict(run)
    assert data["state"] == "deployed" and data["format"] == 1
    assert run_from_dict(data, "etag") == run
    assert run.cost_estimate_usd == 0.25


def test_a_record_saved_before_levels_choices_and_used_hyperparameters_still_loads():
    data = run_to_dict(full_run())
    data["overfitting"] = {"overfitting": True, "reason": "old", "final_valid_train_ratio": 3.0,
                           "best_valid_step": 10}  # fmt: skip
    for key in ("hyperparameters", "seed"):
        data["job"].pop(key)
    for key in ("checkpoint", "checkpoint_step", "chosen_because"):
        data["deployment"].pop(key)
    run = run_from_dict(data, "etag")
    assert run.overfitting.level == "overfitting" and run.job.hyperparameters == {}
    assert run.deployment.checkpoint == "final" and run.deployment.chosen_because is None


def test_every_transition_lands_in_the_timeline_with_its_reason():
    run = full_run()
    moves = [
        (e.from_state, e.to_state, e.reason) for e in run.timeline if e.from_state != e.to_state
    ]
    assert moves == [
        (None, S.WAITING_FOR_FILES, "first file arrived"),
        (S.WAITING_FOR_FILES, S.UPLOADING, "go"),
        (S.UPLOADING, S.PROCESSING_FILES, "files uploaded; Azure OpenAI is processing them"),
        (S.PROCESSING_FILES, S.QUEUED, "created the job: ftjob-1"),
        (S.QUEUED, S.SUCCEEDED, "training finished: ft"),
        (S.SUCCEEDED, S.DEPLOYING, "d"),
        (S.DEPLOYING, S.DEPLOYED,
         "deployment 'tunedrop-minato' answers chat until 2026-11-24 14:01 UTC"),
    ]  # fmt: skip
    assert all(e.at is not None for e in run.timeline)
    assert run.deployment.expires_at == T0 + timedelta(hours=2, minutes=1)


def test_a_file_verdict_after_the_start_is_ignored_not_applied():
    run = full_run()
    run.file_validated(FileKind.TRAIN, FileVerdict('"0x7"', False, "r", "bad", T0))
    assert run.files[FileKind.TRAIN].valid and run.knows_blob(FileKind.TRAIN, '"0x7"')
    assert run.ignored[-1].reason.startswith("train.jsonl changed after the run started")


def test_a_failed_job_fails_the_run_with_the_services_message():
    run = Run.new("minato", T0)
    run.file_validated(FileKind.TRAIN, FileVerdict('"0x1"', True, "r", "ok", T0))
    run.start(T0, CONFIG, "go")
    run.file_uploaded(FileKind.TRAIN, UploadedFile("file-1", "f", "processed"), T0)
    run.job_created("ftjob-1", "pending", T0)
    run.job_observed("failed", T0, error="Quota exceeded.")
    assert run.state is S.FAILED
    assert run.failure_reason == "the fine-tuning job failed: Quota exceeded."
    with pytest.raises(IllegalTransition, match="a failed run never moves again"):
        run.job_observed("running", T0)


def test_recording_an_upload_outside_uploading_is_refused():
    run = Run.new("minato", T0)
    with pytest.raises(IllegalTransition) as caught:
        run.file_uploaded(FileKind.TRAIN, UploadedFile("file-1", "f", "pending"), T0)
    assert str(caught.value) == (
        "run 'minato' cannot record the upload of train.jsonl in state waiting_for_files."
    )


def test_a_run_without_a_model_cannot_be_deployed():
    run = Run.new("minato", T0)
    with pytest.raises(IllegalTransition, match="has no fine-tuned model to deploy"):
        run.deployment_requested(DeploymentInfo("x", "Standard", 1, 1.0, T0), T0, "go")


def test_transient_errors_back_off_and_fail_the_run_at_the_limit():
    run = Run.new("minato", T0)
    policy = RetryPolicy(base_seconds=10, max_attempts=3)
    run.transient_error("UploadFile", "429", 25.0, T0, policy)
    assert (
        run.retry.next_attempt_at == T0 + timedelta(seconds=25) and run.state is S.WAITING_FOR_FILES
    )
    run.transient_error("UploadFile", "503", None, T0, policy)
    assert run.retry.attempts == 2 and run.retry.next_attempt_at == T0 + timedelta(seconds=20)
    run.transient_error("UploadFile", "504", None, T0, policy)
    assert run.state is S.FAILED
    assert run.failure_reason == "UploadFile failed: 3 attempts in a row; last error: 504"


def test_a_permanent_error_after_success_keeps_the_state_and_tries_again_later():
    run = full_run()
    run.step_failed("DeleteDeployment", "403 Forbidden", T0, RetryPolicy())
    assert run.state is S.DEPLOYED
    assert run.retry.next_attempt_at == T0 + timedelta(seconds=900)
    assert run.timeline[-1].reason.startswith("DeleteDeployment failed: 403 Forbidden")


def test_what_is_active_is_what_the_timer_must_watch():
    run = full_run()
    assert run.is_active  # deployed: the timer watches its time to live
    run.deployment_deleted(T0, "ttl")
    assert run.state is S.EXPIRED and run.is_active  # its files on the service wait to go
    run.cleanup = FilesCleanup(due_at=None)  # kept for ever: nothing left to watch
    assert not run.is_active
