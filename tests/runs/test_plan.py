"""next_step: what is due for a run, decided from its record, the time and the policy alone."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from shared.runs.config import RunDefaults, default_config
from shared.runs.facts import (
    Claim,
    DeploymentInfo,
    FilesCleanup,
    FileVerdict,
    RetryState,
    UploadedFile,
)
from shared.runs.names import FileKind
from shared.runs.plan import (
    CancelRun,
    CheckDeployment,
    CleanUpFiles,
    CreateDeployment,
    CreateJob,
    DeleteDeployment,
    FailRun,
    Nothing,
    PollDeployment,
    PollJob,
    ProbeChat,
    RunPolicy,
    StartRun,
    UploadFile,
    WaitForFileProcessing,
    WaitForFiles,
    is_stalled,
    next_step,
)
from shared.runs.record import Run
from shared.runs.states import RunState
from tests.pipeline.fakes import T0

POLICY = RunPolicy(RunDefaults("gpt-4o-mini-2024-07-18"), settle_seconds=60)
S = RunState


def verdict(valid: bool = True, at=T0, summary: str = "ok") -> FileVerdict:
    return FileVerdict('"0x1"', valid, "r", summary, at)


def run_with(*kinds: FileKind, valid: bool = True) -> Run:
    run = Run.new("minato", T0)
    for kind in kinds:
        run.file_validated(kind, verdict(valid))
    return run


def started(*kinds: FileKind) -> Run:
    run = run_with(FileKind.TRAIN, *kinds)
    run.start(T0, default_config(POLICY.defaults), "go")
    return run


def uploaded(status: str = "processed", error: str | None = None) -> Run:
    run = started()
    run.file_uploaded(FileKind.TRAIN, UploadedFile("file-1", "f", status, error), T0)
    return run


def trained() -> Run:
    run = uploaded()
    run.job_created("ftjob-1", "pending", T0)
    run.job_observed("succeeded", T0, fine_tuned_model="ft-model")
    # Its files on the service are already deleted: these tests plan the deployment.
    run.cleanup = FilesCleanup(due_at=T0, deleted=["file-train"], done=True)
    return run


def deploying(state: str = "Creating") -> Run:
    run = trained()
    run.deployment_requested(DeploymentInfo("tunedrop-minato", "Standard", 1, 1.0, T0), T0, "go")
    run.deployment_created("ft-model", state, True, T0)
    return run


def test_a_run_without_its_training_file_waits_for_it():
    assert next_step(run_with(FileKind.VALIDATION), T0, POLICY) == WaitForFiles(
        "waiting for train.jsonl"
    )


def test_with_train_alone_the_run_waits_for_the_settle_time_then_starts():
    run = run_with(FileKind.TRAIN)
    assert isinstance(next_step(run, T0 + timedelta(seconds=59), POLICY), WaitForFiles)
    step = next_step(run, T0 + timedelta(seconds=60), POLICY)
    assert step == StartRun(
        "train.jsonl passed validation and no validation.jsonl arrived within 60 s"
    )


def test_with_train_and_validation_passed_the_run_starts_at_once():
    step = next_step(run_with(FileKind.TRAIN, FileKind.VALIDATION), T0, POLICY)
    assert step == StartRun("train.jsonl and validation.jsonl passed validation")


def test_an_invalid_file_or_run_json_fails_the_run_before_anything_else():
    for kind in FileKind:
        run = run_with(FileKind.TRAIN)
        run.file_validated(kind, verdict(False, summary="line 3: broken"))
        assert next_step(run, T0, POLICY) == FailRun(f"{kind.value} is not valid: line 3: broken")


def test_a_started_run_uploads_train_then_validation():
    run = started(FileKind.VALIDATION)
    assert next_step(run, T0, POLICY) == UploadFile(FileKind.TRAIN)
    run.file_uploaded(FileKind.TRAIN, UploadedFile("file-1", "f", "pending"), T0)
    assert run.state is S.UPLOADING
    assert next_step(run, T0, POLICY) == UploadFile(FileKind.VALIDATION)


def test_uploaded_files_are_watched_until_processed_then_the_job_is_created():
    assert next_step(uploaded("pending"), T0, POLICY) == WaitForFileProcessing((FileKind.TRAIN,))
    assert next_step(uploaded("processed"), T0, POLICY) == CreateJob()


def test_a_file_in_error_fails_the_run_with_the_services_reason():
    step = next_step(uploaded("error", "bad line 3"), T0, POLICY)
    assert step == FailRun("Azure OpenAI could not process train.jsonl: bad line 3")


def test_a_queued_or_running_job_is_polled():
    run = uploaded()
    run.job_created("ftjob-1", "pending", T0)
    assert next_step(run, T0, POLICY) == PollJob()
    run.job_observed("running", T0)
    assert run.state is S.RUNNING and next_step(run, T0, POLICY) == PollJob()


def test_a_trained_run_is_deployed_unless_run_json_turned_deploying_off():
    assert next_step(trained(), T0, POLICY) == CreateDeployment()
    run = trained()
    run.config = default_config(POLICY.defaults).__class__(
        model="gpt-4o-mini-2024-07-18",
        deploy=default_config(POLICY.defaults).deploy.__class__(enabled=False),
    )
    assert not run.is_active
    assert next_step(run, T0, POLICY) == Nothing("the run is succeeded")


def test_a_deployment_is_polled_until_it_succeeds_then_chat_is_probed():
    assert next_step(deploying("Creating"), T0, POLICY) == PollDeployment()
    assert next_step(deploying("Succeeded"), T0, POLICY) == ProbeChat()


def test_a_deployment_lives_until_its_time_to_live_ends():
    run = deploying("Succeeded")
    run.deployment_serving(T0)
    unchecked = replace(POLICY, deployment_check_minutes=10**6)
    assert next_step(run, T0 + timedelta(minutes=59), unchecked) == Nothing("deployed")
    assert next_step(run, T0 + timedelta(hours=1), POLICY) == DeleteDeployment(
        "its time to live of 1 h ended"
    )


def test_a_deployment_tunedrop_did_not_create_never_expires():
    run = trained()
    run.deployment_requested(DeploymentInfo("theirs", "Standard", 1, 1.0, T0), T0, "go")
    run.deployment_created("ft-model", "Succeeded", False, T0)
    run.deployment_serving(T0)
    unchecked = replace(POLICY, deployment_check_minutes=10**6)
    assert next_step(run, T0 + timedelta(days=30), unchecked) == Nothing("deployed")


def test_a_deployed_run_reads_its_deployment_back_every_check_interval():
    run = deploying("Succeeded")
    run.deployment_serving(T0)
    assert next_step(run, T0 + timedelta(minutes=29), POLICY) == Nothing("deployed")
    assert next_step(run, T0 + timedelta(minutes=30), POLICY) == CheckDeployment()
    run.deployment.checked_at = T0 + timedelta(minutes=30)
    assert next_step(run, T0 + timedelta(minutes=59), POLICY) == Nothing("deployed")


def test_a_teardown_request_deletes_the_deployment():
    run = deploying("Succeeded")
    run.deployment_serving(T0)
    run.deployment.teardown_requested = True
    assert next_step(run, T0, POLICY) == DeleteDeployment("tear-down requested")


def test_a_scheduled_retry_waits_until_its_time():
    run = uploaded()
    run.retry = RetryState("CreateJob", 1, T0 + timedelta(seconds=30), "429")
    assert isinstance(next_step(run, T0 + timedelta(seconds=29), POLICY), Nothing)
    assert next_step(run, T0 + timedelta(seconds=30), POLICY) == CreateJob()


def test_a_fresh_claim_by_another_tick_is_left_alone_until_its_lease_ends():
    run = uploaded()
    run.claim = Claim("CreateJob", T0)
    step = next_step(run, T0 + timedelta(seconds=299), POLICY)
    assert step == Nothing("another tick is doing CreateJob since 12:00:00")
    assert next_step(run, T0 + timedelta(seconds=300), POLICY) == CreateJob()


def test_a_cancel_request_comes_before_a_scheduled_retry():
    run = uploaded()
    run.retry = RetryState("CreateJob", 1, T0 + timedelta(hours=1), "429")
    run.cancel_requested = True
    assert next_step(run, T0, POLICY) == CancelRun()


def test_finished_runs_have_nothing_due_once_their_files_are_deleted():
    run = uploaded()
    run.fail("broken", T0)
    assert next_step(run, T0, POLICY) == CleanUpFiles()
    run.cleanup = FilesCleanup(due_at=T0, deleted=["file-train"], done=True)
    assert next_step(run, T0, POLICY) == Nothing("the run is failed")
    assert not run.is_active


def test_a_failed_run_whose_job_may_still_run_keeps_its_files():
    run = uploaded()
    run.job_created("ftjob-1", "running", T0)
    run.fail("polling kept failing", T0)
    assert next_step(run, T0, POLICY) == Nothing("the run is failed")


def test_files_kept_for_a_while_go_when_their_time_comes():
    run = trained()
    run.cleanup = FilesCleanup(due_at=T0 + timedelta(hours=2))
    assert next_step(run, T0 + timedelta(hours=1), POLICY) == CreateDeployment()
    assert next_step(run, T0 + timedelta(hours=2), POLICY) == CleanUpFiles()


def test_a_run_without_progress_for_the_stall_time_is_stalled_once():
    run = uploaded("pending")
    later = T0 + timedelta(minutes=120)
    assert not is_stalled(run, later - timedelta(seconds=1), POLICY)
    assert is_stalled(run, later, POLICY)
    run.mark_stalled(later, 120)
    assert not is_stalled(run, later + timedelta(hours=1), POLICY)
