"""Poison, on the service and the queue function: an inbox blob that validation fails on every
time fails its waiting run with a reason naming the file; repeated, foreign or stale messages
change nothing. The same path end to end, with a blob storage refuses to serve, is in
tests/e2e/test_faults_poison.py."""

from __future__ import annotations

import json

import azure.functions as func

from shared.pipeline.poison import record_poisoned_blob
from shared.runs.states import RunState
from tests.pipeline.data import TRAIN
from tests.pipeline.fakes import fake_services
from tests.pipeline.helpers import drop, tick

INBOX = "training-inbox"
CRASHED = "crashed on every attempt the host made"


def poison_message(blob_name: str, etag: str, **changes: str) -> dict[str, str]:
    """The message the Functions host writes to the poison queue for a blob trigger."""
    message = {
        "Type": "BlobTrigger",
        "FunctionId": "Host.Functions.validate_dropped_file",
        "BlobType": "BlockBlob",
        "ContainerName": INBOX,
        "BlobName": blob_name,
        "ETag": etag,
    }
    message.update(changes)
    return message


def test_a_poisoned_file_fails_its_waiting_run_with_a_reason_naming_the_file() -> None:
    services = fake_services()
    etag = services.inbox.put("bot/train.jsonl", TRAIN)  # type: ignore[attr-defined]
    outcome = record_poisoned_blob(
        services, poison_message("bot/train.jsonl", etag), services.clock(), INBOX
    )
    run = services.runs.find("bot")
    assert outcome.action == "failed" and run is not None and run.state is RunState.FAILED
    assert run.failure_reason and run.failure_reason.startswith(
        f"validating bot/train.jsonl {CRASHED}"
    )
    assert run.files["train.jsonl"].valid is False  # type: ignore[index]
    report = services.reports.reports["bot/train.jsonl.report.json"]  # type: ignore[attr-defined]
    assert report["errors"][0]["code"] == "validation_crashed"


def test_the_same_poison_message_twice_changes_nothing_the_second_time() -> None:
    services = fake_services()
    etag = services.inbox.put("bot/train.jsonl", TRAIN)  # type: ignore[attr-defined]
    message = poison_message("bot/train.jsonl", etag.strip('"'))  # the host may drop the quotes
    record_poisoned_blob(services, message, services.clock(), INBOX)
    before = services.runs.find("bot")
    again = record_poisoned_blob(services, message, services.clock(), INBOX)
    assert again.action == "duplicate"
    assert services.runs.find("bot") == before


def test_poison_messages_of_other_functions_containers_or_non_run_blobs_are_ignored() -> None:
    services = fake_services()
    etag = services.inbox.put("bot/train.jsonl", TRAIN)  # type: ignore[attr-defined]
    now = services.clock()
    others = [
        poison_message("bot/train.jsonl", etag, FunctionId="Host.Functions.something_else"),
        poison_message("bot/train.jsonl", etag, ContainerName="another-container"),
        poison_message("notes.txt", etag),
        poison_message("Bad Name/train.jsonl", etag),
        {"Type": "QueueTrigger"},
    ]
    for message in others:
        assert record_poisoned_blob(services, message, now, INBOX).action == "ignored"
    assert services.runs.find("bot") is None


def test_a_poisoned_version_a_started_run_does_not_use_only_adds_a_note() -> None:
    services = fake_services()
    drop(services, "bot/train.jsonl", TRAIN)
    tick(services, seconds=120)  # settled: the run starts with the validated version
    run = services.runs.find("bot")
    assert run is not None and run.state.training_started
    changed = services.inbox.put("bot/train.jsonl", TRAIN + b"\n")  # type: ignore[attr-defined]
    outcome = record_poisoned_blob(
        services, poison_message("bot/train.jsonl", changed), services.clock(), INBOX
    )
    after = services.runs.find("bot")
    assert outcome.action == "noted" and after is not None
    assert after.state is run.state and after.failure_reason is None
    assert "keeps the version it started with" in after.timeline[-1].reason


def test_a_poisoned_version_already_replaced_by_a_newer_one_does_not_fail_the_run() -> None:
    services = fake_services()
    old = services.inbox.put("bot/train.jsonl", TRAIN)  # type: ignore[attr-defined]
    services.inbox.put("bot/train.jsonl", TRAIN + b"\n")  # type: ignore[attr-defined]
    outcome = record_poisoned_blob(
        services, poison_message("bot/train.jsonl", old), services.clock(), INBOX
    )
    run = services.runs.find("bot")
    assert outcome.action == "noted" and run is not None
    assert run.state is RunState.WAITING_FOR_FILES and run.failure_reason is None


# -- the queue-triggered function, with real binding objects ------------------------------------


def test_the_poison_function_records_the_host_message_and_shrugs_off_anything_else() -> None:
    from functions.poison import record_poisoned_inbox_blob
    from shared.bootstrap import use_services
    from shared.settings import Settings

    settings = Settings.from_env(
        {
            "AzureWebJobsStorage": "UseDevelopmentStorage=true",
            "AZURE_OPENAI_ENDPOINT": "http://127.0.0.1:1",
            "AZURE_SUBSCRIPTION_ID": "sub",
            "AZURE_RESOURCE_GROUP": "group",
            "AZURE_OPENAI_ACCOUNT": "account",
            "INBOX_CONTAINER": INBOX,
        }
    )
    services = fake_services(settings=settings)
    etag = services.inbox.put("bot/train.jsonl", TRAIN)  # type: ignore[attr-defined]
    function = record_poisoned_inbox_blob.build().get_user_function()
    with use_services(services):
        for junk in (b"not json", b"[1, 2]", b'{"Type": "QueueTrigger"}'):
            function(func.QueueMessage(id="junk", body=junk))
        assert services.runs.find("bot") is None
        body = json.dumps(poison_message("bot/train.jsonl", etag)).encode()
        function(func.QueueMessage(id="m1", body=body))
    run = services.runs.find("bot")
    assert run is not None and run.state is RunState.FAILED
