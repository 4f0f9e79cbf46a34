"""The timer's service: every run ends in a recorded state, with at most one upload per file,
one job and one deployment, whatever the faults."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest

from shared.bootstrap import policy_from
from shared.errors import (
    ConcurrentUpdate,
    Conflict,
    IllegalTransition,
    PermanentServiceError,
    TransientServiceError,
)
from shared.pipeline import advance_runs
from shared.pipeline.commands import request_deploy, request_teardown
from shared.pipeline.protocols import RemoteDeployment
from shared.runs.names import FileKind
from shared.runs.states import RunState
from shared.settings import Settings
from tests.pipeline.data import RUN_JSON, TRAIN, VALIDATION
from tests.pipeline.fakes import fake_services
from tests.pipeline.helpers import drop, tick, tick_until

S = RunState


def started_run(**overrides):
    services = fake_services(**overrides)
    drop(services, "minato/run.json", RUN_JSON)
    drop(services, "minato/train.jsonl", TRAIN)
    drop(services, "minato/validation.jsonl", VALIDATION)
    return services


def test_a_dropped_run_goes_through_every_state_to_deployed_with_one_of_each_paid_call():
    services = started_run()
    tick_until(services, "minato", S.DEPLOYED)

    run = services.runs.get("minato")
    moves = [entry.to_state for entry in run.timeline if entry.from_state != entry.to_state]
    assert moves == [
        S.WAITING_FOR_FILES, S.UPLOADING, S.PROCESSING_FILES, S.QUEUED, S.RUNNING,
        S.SUCCEEDED, S.DEPLOYING, S.DEPLOYED,
    ]  # fmt: skip
    fine_tuning = services.fine_tuning
    assert fine_tuning.uploads == 2 and fine_tuning.jobs_created == 1
    spec = next(iter(fine_tuning.specs.values()))
    assert (spec.suffix, dict(spec.hyperparameters)) == ("minato", {"n_epochs": 2})
    assert spec.validation_file == run.uploads[FileKind.VALIDATION].file_id
    assert fine_tuning.contents[spec.training_file] == TRAIN
    assert services.deployments.creates == {"tunedrop-minato": 1}
    assert services.deployments.deployments["tunedrop-minato"].tags == {"tunedrop-run": "minato"}
    assert run.job.fine_tuned_model.endswith(run.job.id) and run.job.trained_tokens == 1234
    assert run.job.hyperparameters == {
        "n_epochs": 2,
        "batch_size": 1,
        "learning_rate_multiplier": 0.1,
    }
    assert run.job.seed == 1234
    notes = [entry.reason for entry in run.timeline if entry.reason.startswith("the service")]
    assert notes == [
        "the service trains with n_epochs 2 (asked: 2), batch_size 1 (asked: auto), "
        "learning_rate_multiplier 0.1 (asked: auto)"
    ]
    assert run.deployment.created_by_tunedrop
    assert run.deployment.expires_at == run.deployment.serving_at + timedelta(hours=1)
    assert [p.step for p in services.runs.points("minato")] == [1, 2, 3, 4]
    assert run.overfitting is not None and run.overfitting.best_valid_step == 3
    assert run.job.events and run.job.checkpoints[0].step == 2


def test_without_a_validation_file_the_run_starts_only_after_the_settle_time():
    services = fake_services()
    drop(services, "minato/train.jsonl", TRAIN)

    tick(services, seconds=30)
    assert services.runs.get("minato").state is S.WAITING_FOR_FILES
    tick(services, seconds=31)
    run = services.runs.get("minato")
    assert run.state.training_started
    assert "no validation.jsonl arrived within 60 s" in run.timeline[1].reason
    assert list(run.uploads) == [FileKind.TRAIN]


def test_files_may_arrive_in_any_order():
    services = fake_services()
    drop(services, "minato/validation.jsonl", VALIDATION)
    tick(services, seconds=600)
    assert services.runs.get("minato").state is S.WAITING_FOR_FILES
    drop(services, "minato/run.json", RUN_JSON)
    drop(services, "minato/train.jsonl", TRAIN)
    tick_until(services, "minato", S.DEPLOYED)
    assert services.fine_tuning.uploads == 2


def test_a_file_the_service_cannot_process_fails_the_run_with_the_services_reason():
    services = started_run()
    services.fine_tuning.file_error = "Invalid file format: line 3"
    tick_until(services, "minato", S.FAILED)
    run = services.runs.get("minato")
    assert run.failure_reason == (
        "Azure OpenAI could not process train.jsonl: Invalid file format: line 3"
    )
    assert services.fine_tuning.jobs_created == 0


def test_a_failing_job_fails_the_run_with_the_services_message():
    services = started_run()
    services.fine_tuning.job_error = "The job ran out of quota."
    tick_until(services, "minato", S.FAILED)
    assert services.runs.get("minato").failure_reason == (
        "the fine-tuning job failed: The job ran out of quota."
    )
    assert services.deployments.creates == {}


def test_throttling_and_server_errors_delay_the_run_but_do_not_fail_it():
    services = started_run()
    fine_tuning = services.fine_tuning
    fine_tuning.faults.add(
        "upload_file", TransientServiceError("429 Too Many Requests", retry_after=90)
    )
    fine_tuning.faults.add("create_job", TransientServiceError("500 Internal Server Error"))

    tick(services)
    run = services.runs.get("minato")
    assert run.state is S.UPLOADING
    assert run.retry.attempts == 1 and run.retry.last_error == "429 Too Many Requests"
    assert run.retry.next_attempt_at == services.clock() + timedelta(seconds=90)
    tick(services, seconds=60)
    assert services.fine_tuning.faults.calls["upload_file"] == 1  # still waiting for Retry-After

    tick_until(services, "minato", S.DEPLOYED)
    assert fine_tuning.uploads == 2 and fine_tuning.jobs_created == 1
    notes = [e.reason for e in services.runs.get("minato").timeline]
    assert any("will be tried again" in note and "500" in note for note in notes)


def test_a_transient_error_past_the_attempt_limit_fails_the_run_with_the_last_error():
    services = started_run()
    errors = [TransientServiceError(f"503 attempt {n}") for n in range(1, 5)]
    services.fine_tuning.faults.add("upload_file", *errors)
    tick_until(services, "minato", S.FAILED)
    reason = services.runs.get("minato").failure_reason
    assert reason == "UploadFile failed: 4 attempts in a row; last error: 503 attempt 4"


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (ConcurrentUpdate, "creating deployment 'tunedrop-minato': it already exists (409)"),
        (IllegalTransition, "run 'minato' cannot do that in state deploying"),
    ],
)
def test_a_claimed_step_that_keeps_conflicting_leaves_the_run_deployable_after_the_retry_limit(
    error, words
):
    services = started_run()
    services.deployments.faults.add("create", *[error(f"{words} #{n}") for n in range(1, 5)])
    seen = tick_until(services, "minato", S.EXPIRED)
    run = services.runs.get("minato")
    assert S.DEPLOYING in seen and run.claim is None and run.failure_reason is None
    assert (
        run.deployment.error
        == f"CreateDeployment failed: 4 attempts in a row; last error: {words} #4"
    )
    assert services.deployments.faults.calls["create"] == 4 and services.deployments.creates == {}
    notes = [e.reason for e in run.timeline if "will be tried again" in e.reason]
    assert len(notes) == 3
    request_deploy(services, "minato", services.clock())
    tick_until(services, "minato", S.DEPLOYED)


def test_a_conflict_that_clears_delays_the_run_but_does_not_fail_it():
    services = started_run()
    services.deployments.faults.add("create", ConcurrentUpdate("409: being deleted"))
    tick_until(services, "minato", S.DEPLOYED)
    assert services.deployments.creates == {"tunedrop-minato": 1}


# Only the required settings: everything else is the default the app runs with.
APP_ENV = {
    "AzureWebJobsStorage": "UseDevelopmentStorage=true",
    "AZURE_OPENAI_ENDPOINT": "https://example.openai.azure.com",
    "AZURE_SUBSCRIPTION_ID": "sub",
    "AZURE_RESOURCE_GROUP": "rg",
    "AZURE_OPENAI_ACCOUNT": "acct",
}


def test_with_the_apps_own_policy_a_run_fails_only_after_8_transient_errors_in_a_row():
    services = started_run(policy=policy_from(Settings.from_env(APP_ENV)))
    errors = [TransientServiceError(f"503 attempt {n}") for n in range(1, 10)]
    services.fine_tuning.faults.add("upload_file", *errors)
    states = []
    for _ in range(8):
        tick(services, seconds=900)  # the longest backoff: each tick tries once more
        states.append(services.runs.get("minato").state)
    assert states == [S.UPLOADING] * 7 + [S.FAILED]
    assert services.fine_tuning.faults.calls["upload_file"] == 8
    reason = services.runs.get("minato").failure_reason
    assert reason == "UploadFile failed: 8 attempts in a row; last error: 503 attempt 8"


def test_two_ticks_at_once_make_one_upload_and_one_job():
    services = started_run()
    services.fine_tuning.faults.add("create_job", TransientServiceError("503"))
    tick(services)  # files uploaded and processed; the job will be created on a later tick
    stale = services.runs.get("minato")  # what a second, slower host read
    assert stale.state is S.PROCESSING_FILES
    tick(services, seconds=30)
    assert services.fine_tuning.jobs_created == 1

    # The slower host now tries to claim the job creation with its stale copy.
    original = services.runs.active
    services.runs.active = lambda: iter([stale])
    summary = advance_runs(services, services.clock())
    services.runs.active = original

    assert summary.conflicts == 1
    assert services.fine_tuning.jobs_created == 1
    tick_until(services, "minato", S.DEPLOYED)
    assert services.fine_tuning.jobs_created == 1


def test_a_save_that_conflicts_leaves_the_run_for_the_next_tick():
    services = started_run()
    services.runs.faults.add("save", ConcurrentUpdate("another host saved first"))
    summary = tick(services)
    assert summary.conflicts == 1
    assert services.runs.get("minato").state is S.WAITING_FOR_FILES
    tick_until(services, "minato", S.DEPLOYED)
    assert services.fine_tuning.uploads == 2


def test_a_crash_right_after_creating_the_job_is_recovered_without_a_second_job():
    services = started_run()
    services.fine_tuning.faults.add("after_create_job", RuntimeError("host killed"))
    crashed = False
    for _ in range(5):
        try:
            tick(services)
        except RuntimeError:
            crashed = True
            break
    assert crashed
    run = services.runs.get("minato")
    assert run.claim is not None and run.claim.step == "CreateJob" and run.job is None

    tick(services, seconds=60)  # within the claim's lease: nobody touches it
    assert services.runs.get("minato").job is None
    tick(services, seconds=300)
    run = services.runs.get("minato")
    assert run.job is not None
    assert "found the job an earlier attempt created" in "".join(e.reason for e in run.timeline)
    tick_until(services, "minato", S.DEPLOYED)
    assert services.fine_tuning.jobs_created == 1


def test_a_crash_right_after_an_upload_is_recovered_without_a_second_upload():
    services = started_run()
    original_upload = services.fine_tuning.upload_file

    def upload_then_crash(source):
        original_upload(source)
        raise RuntimeError("host killed after the upload")

    services.fine_tuning.upload_file = upload_then_crash
    with contextlib.suppress(RuntimeError):
        tick(services)
    services.fine_tuning.upload_file = original_upload
    run = services.runs.get("minato")
    assert run.uploads == {} and run.claim.step == "UploadFile"
    assert services.fine_tuning.uploads == 1

    tick(services, seconds=301)
    tick_until(services, "minato", S.DEPLOYED)
    assert services.fine_tuning.uploads == 2  # train once, validation once
    timeline = "".join(entry.reason for entry in services.runs.get("minato").timeline)
    assert "upload" in timeline


def test_a_deployment_that_does_not_serve_yet_is_probed_again_without_counting_an_error():
    services = started_run()
    services.chat.not_ready_calls = 3
    seen = tick_until(services, "minato", S.DEPLOYED)
    assert seen.count(S.DEPLOYING) >= 3
    run = services.runs.get("minato")
    assert run.retry is None and run.failure_reason is None


def test_after_its_time_to_live_tunedrops_deployment_is_deleted_and_the_run_expires():
    services = started_run()
    tick_until(services, "minato", S.DEPLOYED)
    tick(services, seconds=1800)
    assert services.deployments.deletes == []
    tick(services, seconds=1800)
    run = services.runs.get("minato")
    assert run.state is S.EXPIRED
    assert services.deployments.deletes == ["tunedrop-minato"]
    assert "time to live of 1 h ended" in run.timeline[-1].reason
    assert not run.is_active


def test_a_deployment_tunedrop_did_not_create_is_never_deleted():
    services = started_run()
    services.fine_tuning.job_statuses = ["running", "running", "running", "succeeded"]
    tick_until(services, "minato", S.RUNNING)
    model = f"gpt-4o-mini-2024-07-18.ft-{services.runs.get('minato').job.id}"
    # Someone deployed the model by hand, under the name Tunedrop would use.
    services.deployments.deployments["tunedrop-minato"] = RemoteDeployment(
        "tunedrop-minato", model, "Succeeded", {}
    )
    tick_until(services, "minato", S.DEPLOYED)
    run = services.runs.get("minato")
    assert not run.deployment.created_by_tunedrop and run.deployment.expires_at is None
    tick(services, seconds=48 * 3600)
    assert services.runs.get("minato").state is S.DEPLOYED
    assert services.deployments.deletes == [] and services.deployments.creates == {}
    # A teardown request is refused, saying why, and the deployment stays.
    with pytest.raises(Conflict, match="was not created by Tunedrop; Tunedrop never deletes it"):
        request_teardown(services, "minato", services.clock())
    tick(services)
    assert services.runs.get("minato").state is S.DEPLOYED
    assert services.deployments.deletes == []
    assert "tunedrop-minato" in services.deployments.deployments


def test_a_deployment_name_taken_by_another_model_leaves_the_run_deployable_untouched():
    services = started_run()
    services.deployments.deployments["tunedrop-minato"] = RemoteDeployment(
        "tunedrop-minato", "gpt-4o", "Succeeded", {}
    )
    tick_until(services, "minato", S.EXPIRED)
    run = services.runs.get("minato")
    assert "already exists with model 'gpt-4o'" in run.deployment.error
    assert run.failure_reason is None
    assert services.deployments.deployments["tunedrop-minato"].model == "gpt-4o"
    request_deploy(services, "minato", services.clock(), {"name": "minato-2"})
    tick_until(services, "minato", S.DEPLOYED)
    assert services.deployments.deployments["tunedrop-minato"].model == "gpt-4o"


def test_a_refused_deployment_keeps_the_model_and_deploys_again_with_another_capacity():
    services = started_run()
    services.deployments.faults.add("create", PermanentServiceError("InsufficientQuota: no TPM"))
    tick_until(services, "minato", S.EXPIRED)
    run = services.runs.get("minato")
    assert run.failure_reason is None
    assert run.deployment.error == "CreateDeployment failed: InsufficientQuota: no TPM"
    assert "POST /api/runs/minato/deploy deploys it again" in run.timeline[-1].reason
    request_deploy(services, "minato", services.clock(), {"capacity": 2})
    tick_until(services, "minato", S.DEPLOYED)
    assert services.runs.get("minato").deployment.capacity == 2


def test_a_run_with_no_progress_is_marked_stalled_once():
    services = fake_services()
    drop(services, "minato/validation.jsonl", VALIDATION)
    first = tick(services, seconds=119 * 60)
    second = tick(services, seconds=120)
    third = tick(services, seconds=120)
    assert first.stalled == [] and second.stalled == ["minato"] and third.stalled == []
    run = services.runs.get("minato")
    assert run.stalled
    assert run.timeline[-1].reason == "no progress for 120 minutes in state waiting_for_files"


def test_finished_runs_are_not_advanced():
    services = started_run()
    tick_until(services, "minato", S.DEPLOYED)
    tick(services, seconds=7200)
    summary = tick(services)
    assert summary.runs == 0


def test_an_unexpected_error_in_one_run_does_not_hold_back_the_others():
    services = fake_services()
    for name in ("first", "second"):
        drop(services, f"{name}/train.jsonl", TRAIN)
        drop(services, f"{name}/validation.jsonl", VALIDATION)
    services.fine_tuning.faults.add("upload_file", RuntimeError("a bug"))
    try:
        tick(services)
    except RuntimeError as exc:
        assert str(exc) == "a bug"
    else:
        raise AssertionError("the unexpected error was swallowed")
    # The run that met the bug stays where it was; the other went as far as a run alone goes in
    # one tick on the fakes (running). Which run meets the bug is the workers' choice.
    states = sorted(services.runs.get(name).state.value for name in ("first", "second"))
    assert states == ["running", "uploading"]


def test_a_job_queued_for_hours_is_marked_stalled_though_every_poll_is_answered():
    services = started_run()
    services.fine_tuning.job_statuses = ["queued"] * 10_000
    services.fine_tuning.max_events = 2  # then nothing new: a job waiting for capacity
    tick_until(services, "minato", S.QUEUED)
    stalled = []
    for _ in range(2 * 60 * 2 + 2):  # a little over two hours of 30 s ticks
        stalled += tick(services, seconds=30).stalled
    assert stalled == ["minato"]
    run = services.runs.get("minato")
    assert run.stalled and run.state is S.QUEUED


def test_a_poll_that_learns_nothing_new_writes_nothing():
    services = started_run()
    services.fine_tuning.job_statuses = ["queued"] * 10_000
    services.fine_tuning.max_events = 2  # then nothing new: a job waiting for capacity
    tick_until(services, "minato", S.QUEUED)
    tick(services, seconds=30)
    version = services.runs.rows["minato"][1]
    tick(services, seconds=30)
    tick(services, seconds=30)
    assert services.runs.rows["minato"][1] == version
