"""The whole pipeline with real adapters: Azurite for storage, the emulator for Azure OpenAI and
ARM. Files are dropped in the inbox, the trigger's service validates them, and the test ticks
the timer's service until the run is deployed, then counts the paid calls in the emulator's log."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from azure.storage.blob import BlobServiceClient

from localdev.emulator import Fault
from shared.pipeline import advance_runs, chat, get_run, handle_dropped_blob, run_points
from shared.runs.states import RunState
from tests.pipeline.data import QUESTIONS, RUN_JSON, TRAIN, VALIDATION

S = RunState


def drop(services, azurite, blob_name: str, data: bytes) -> None:
    blobs = BlobServiceClient.from_connection_string(azurite.connection_string)
    blobs.get_blob_client(services.inbox._container, blob_name).upload_blob(data, overwrite=True)
    handle_dropped_blob(services, blob_name, datetime.now(UTC))


def tick_until(services, run: str, state: RunState, timeout: float = 60.0) -> list[RunState]:
    seen: list[RunState] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        advance_runs(services, datetime.now(UTC))
        current = get_run(services.runs, run).state
        if not seen or seen[-1] is not current:
            seen.append(current)
        if current is state:
            return seen
        if current.terminal:
            break
        time.sleep(0.1)
    raise AssertionError(f"run {run} did not become {state.value}; states seen: {seen}")


def paid_calls(services, run: str) -> tuple[int, int]:
    """(files uploaded for the run, jobs created with its training file), as the service says."""
    client = services.fine_tuning._client
    files = {f.id for f in client.files.list() if f.filename.startswith(f"{run}--")}
    train = {f for f in files if "--train--" in client.files.retrieve(f).filename}
    # Files the run deleted once its job ended (shared.runs.cleanup) were uploaded too.
    record = get_run(services.runs, run)
    uploads = {kind: item.file_id for kind, item in record.uploads.items()}
    deleted = set(record.cleanup.deleted) if record.cleanup else set()
    files |= deleted & set(uploads.values())
    train |= {uploads[kind] for kind in uploads if kind.value == "train.jsonl"}
    jobs = [j for j in client.fine_tuning.jobs.list(limit=100) if j.training_file in train]
    return len(files), len(jobs)


def unique(name: str) -> str:
    return f"{name}-{time.time_ns() % 10**9}"


def test_a_dropped_run_is_trained_deployed_and_answers_from_its_training_data(
    real_services, azurite, emulator
):
    run = unique("minato")
    drop(real_services, azurite, f"{run}/run.json", RUN_JSON)
    drop(real_services, azurite, f"{run}/train.jsonl", TRAIN)
    drop(real_services, azurite, f"{run}/validation.jsonl", VALIDATION)
    drop(real_services, azurite, f"{run}/train.jsonl", TRAIN)  # a duplicate trigger's blob

    seen = tick_until(real_services, run, S.DEPLOYED)

    record = get_run(real_services.runs, run)
    moves = [e.to_state for e in record.timeline if e.from_state != e.to_state]
    assert moves[-1] is S.DEPLOYED and S.SUCCEEDED in moves and S.DEPLOYING in moves
    assert seen[-1] is S.DEPLOYED
    assert record.job.fine_tuned_model and record.job.trained_tokens
    assert record.deployment.created_by_tunedrop and record.deployment.expires_at
    assert run_points(real_services.runs, run)
    assert record.overfitting is not None
    assert paid_calls(real_services, run) == (2, 1)
    assert emulator.count("PUT", f"/deployments/tunedrop-{run}") == 1

    question, answer = QUESTIONS[0]
    reply = chat(real_services, run, [{"role": "user", "content": question}])
    assert answer in reply.reply


def test_a_crash_after_job_creation_ends_with_one_job(real_services, azurite, emulator):
    run = unique("crash")
    drop(real_services, azurite, f"{run}/train.jsonl", TRAIN)
    drop(real_services, azurite, f"{run}/validation.jsonl", VALIDATION)
    fine_tuning = real_services.fine_tuning
    real_create = fine_tuning.create_job

    def create_then_crash(spec):
        real_create(spec)
        raise KeyboardInterrupt("host killed right after the job was created")

    fine_tuning.create_job = create_then_crash
    with pytest.raises(KeyboardInterrupt):
        for _ in range(200):
            advance_runs(real_services, datetime.now(UTC))
            time.sleep(0.05)
    fine_tuning.create_job = real_create
    assert get_run(real_services.runs, run).job is None

    later = datetime.now(UTC) + timedelta(minutes=6)  # past the claim's lease
    advance_runs(real_services, later)
    record = get_run(real_services.runs, run)
    assert record.job is not None
    assert any("earlier attempt" in e.reason for e in record.timeline)
    tick_until(real_services, run, S.DEPLOYED)
    assert paid_calls(real_services, run) == (2, 1)


def test_throttling_and_server_errors_delay_a_real_run_but_do_not_fail_it(
    real_services, azurite, emulator
):
    run = unique("throttled")
    drop(real_services, azurite, f"{run}/train.jsonl", TRAIN)
    drop(real_services, azurite, f"{run}/validation.jsonl", VALIDATION)
    emulator.inject(Fault("throttle", path_contains="/files", method="POST", retry_after=0))
    emulator.inject(Fault("server_error", path_contains="/fine_tuning/jobs", method="POST"))
    # The run's backoff waits 30 s and more; the test's clock jumps ahead instead of sleeping.
    offset = timedelta()
    deadline = time.monotonic() + 30
    while get_run(real_services.runs, run).state is not S.DEPLOYED:
        assert time.monotonic() < deadline, get_run(real_services.runs, run).timeline[-3:]
        advance_runs(real_services, datetime.now(UTC) + offset)
        record = get_run(real_services.runs, run)
        assert record.state is not S.FAILED, record.failure_reason
        if record.retry is not None:
            offset += timedelta(minutes=5)
        time.sleep(0.1)
    notes = " ".join(e.reason for e in get_run(real_services.runs, run).timeline)
    assert "429" in notes and "500" in notes


def test_a_failing_job_fails_the_run_with_the_services_message(real_services, azurite, emulator):
    run = unique("doomed")
    emulator.inject(
        Fault("job_fails", path_contains="/fine_tuning/jobs", message="Out of training quota.")
    )
    drop(real_services, azurite, f"{run}/train.jsonl", TRAIN)
    drop(real_services, azurite, f"{run}/validation.jsonl", VALIDATION)
    tick_until(real_services, run, S.FAILED)
    reason = get_run(real_services.runs, run).failure_reason
    assert reason == "the fine-tuning job failed: Out of training quota."


def test_a_file_in_error_fails_the_run_with_the_services_reason(real_services, azurite, emulator):
    run = unique("badfile")
    emulator.inject(Fault("file_error", path_contains="/files", message="Corrupt upload."))
    drop(real_services, azurite, f"{run}/train.jsonl", TRAIN)
    drop(real_services, azurite, f"{run}/validation.jsonl", VALIDATION)
    tick_until(real_services, run, S.FAILED)
    reason = get_run(real_services.runs, run).failure_reason
    assert reason.startswith("Azure OpenAI could not process") and "Corrupt upload." in reason


def test_after_its_time_to_live_the_deployment_is_deleted(real_services, azurite, emulator):
    run = unique("ttl")
    drop(real_services, azurite, f"{run}/run.json", RUN_JSON)  # ttl_hours: 1
    drop(real_services, azurite, f"{run}/train.jsonl", TRAIN)
    drop(real_services, azurite, f"{run}/validation.jsonl", VALIDATION)
    tick_until(real_services, run, S.DEPLOYED)
    name = get_run(real_services.runs, run).deployment.name

    advance_runs(real_services, datetime.now(UTC) + timedelta(hours=1, minutes=1))

    assert get_run(real_services.runs, run).state is S.EXPIRED
    assert emulator.count("DELETE", f"/deployments/{name}") == 1
    assert real_services.deployments.get(name) is None or (
        real_services.deployments.get(name).state == "Deleting"
    )


def test_two_hosts_ticking_at_once_make_one_upload_per_file_one_job_and_one_deployment(
    real_services, azurite, emulator
):
    run = unique("twohosts")
    drop(real_services, azurite, f"{run}/train.jsonl", TRAIN)
    drop(real_services, azurite, f"{run}/validation.jsonl", VALIDATION)
    stop = threading.Event()
    errors: list[BaseException] = []

    def host() -> None:
        while not stop.is_set():
            try:
                advance_runs(real_services, datetime.now(UTC))
            except BaseException as exc:
                errors.append(exc)
                return
            time.sleep(0.02)

    hosts = [threading.Thread(target=host) for _ in range(2)]
    for thread in hosts:
        thread.start()
    try:
        deadline = time.monotonic() + 20
        while get_run(real_services.runs, run).state is not S.DEPLOYED:
            assert time.monotonic() < deadline and not errors, errors
            time.sleep(0.1)
    finally:
        stop.set()
        for thread in hosts:
            thread.join()
    assert errors == []
    assert paid_calls(real_services, run) == (2, 1)
    assert emulator.count("PUT", f"/deployments/tunedrop-{run}") == 1
