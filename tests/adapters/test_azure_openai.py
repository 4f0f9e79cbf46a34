"""AzureOpenAIFineTuning and AzureOpenAIChat through the real openai client to the emulator."""

from __future__ import annotations

import time

import pytest

from localdev.emulator import Fault
from shared.adapters.azure_openai import AzureOpenAIFineTuning
from shared.errors import DeploymentNotReady, NotFound, TransientServiceError
from shared.pipeline.protocols import JobSpec, UploadSource
from tests.pipeline.data import TRAIN, VALIDATION


def source(name: str, data: bytes, chunk: int = 100) -> UploadSource:
    chunks = lambda: iter([data[i : i + chunk] for i in range(0, len(data), chunk)])  # noqa: E731
    return UploadSource(name, len(data), chunks, lambda: "https://unused.example/sas")


def wait_for(check, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_a_file_is_streamed_up_found_again_by_name_and_processed(real_services, emulator):
    fine_tuning = real_services.fine_tuning
    name = f"minato--train--{time.time_ns()}.jsonl"
    uploaded = fine_tuning.upload_file(source(name, TRAIN))

    assert uploaded.filename == name and uploaded.id
    assert fine_tuning.find_file(name).id == uploaded.id
    assert fine_tuning.find_file("nobody.jsonl") is None
    processed = wait_for(
        lambda: (f := fine_tuning.get_file(uploaded.id)).status == "processed" and f
    )
    assert processed.error is None


def test_a_large_file_goes_through_import_from_its_read_url(real_services, azurite):
    fine_tuning = real_services.fine_tuning
    inbox = real_services.inbox
    blob = "bigrun/train.jsonl"
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    service.get_blob_client(inbox._container, blob).upload_blob(TRAIN)
    importer = AzureOpenAIFineTuning(fine_tuning._client, import_threshold_bytes=10)
    from datetime import timedelta

    info = inbox.info(blob)
    uploaded = importer.upload_file(
        UploadSource(
            "bigrun--train--x.jsonl",
            info.size,
            lambda: inbox.chunks(blob, info.etag),
            lambda: inbox.read_url(blob, timedelta(hours=1)),
        )
    )
    assert uploaded.filename == "bigrun--train--x.jsonl"


def test_a_job_is_created_found_by_its_training_file_and_followed_to_success(
    real_services, emulator
):
    fine_tuning = real_services.fine_tuning
    train = fine_tuning.upload_file(source(f"t-{time.time_ns()}.jsonl", TRAIN))
    valid = fine_tuning.upload_file(source(f"v-{time.time_ns()}.jsonl", VALIDATION))
    wait_for(lambda: fine_tuning.get_file(train.id).status == "processed")
    wait_for(lambda: fine_tuning.get_file(valid.id).status == "processed")
    assert fine_tuning.find_job(train.id) is None

    job = fine_tuning.create_job(
        JobSpec("gpt-4o-mini-2024-07-18", train.id, valid.id, {"n_epochs": 2}, "minato", 7)
    )
    assert fine_tuning.find_job(train.id).id == job.id
    assert job.hyperparameters == {"n_epochs": 2}  # the rest is not chosen before training
    done = wait_for(lambda: (j := fine_tuning.get_job(job.id)).status == "succeeded" and j)

    assert done.fine_tuned_model and done.trained_tokens and done.result_files
    assert done.hyperparameters == {"n_epochs": 2, "batch_size": 1, "learning_rate_multiplier": 0.1}
    assert done.seed == 7
    events = fine_tuning.job_events(job.id, None)
    assert events and events == sorted(events, key=lambda e: e.at)
    assert fine_tuning.job_events(job.id, events[-1].id) == []
    assert fine_tuning.job_checkpoints(job.id)
    text = fine_tuning.results(done.result_files[0])
    assert text.startswith("step,") and "train_loss" in text.splitlines()[0]
    assert emulator.count("POST", "/fine_tuning/jobs") >= 1


def test_throttling_becomes_a_transient_error_with_the_retry_after(real_services, emulator):
    emulator.inject(Fault("throttle", path_contains="/files", times=1, retry_after=7))
    with pytest.raises(TransientServiceError) as caught:
        real_services.fine_tuning.upload_file(source("throttled.jsonl", TRAIN))
    assert caught.value.retry_after == 7
    emulator.inject(Fault("server_error", path_contains="/fine_tuning/jobs/", times=1))
    with pytest.raises(TransientServiceError):
        real_services.fine_tuning.get_job("ftjob-whatever")


def test_an_unknown_job_is_not_found(real_services):
    with pytest.raises(NotFound):
        real_services.fine_tuning.get_job("ftjob-does-not-exist")


def test_chat_answers_on_a_base_deployment_and_says_not_ready_for_an_unknown_one(real_services):
    reply = real_services.chat.complete(
        "gpt-4o-mini", [{"role": "user", "content": "こんにちは"}], max_tokens=20
    )
    assert reply.reply and reply.model
    with pytest.raises(DeploymentNotReady):
        real_services.chat.complete("no-such-deployment", [{"role": "user", "content": "x"}], 5)
