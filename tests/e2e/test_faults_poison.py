"""Poison: an inbox blob that validation fails on every time ends in the host's poison record and a
failed run that says why, while other runs go on.

The blob used is one in the Archive tier: its properties can be read but storage refuses its
content (409 BlobArchived) on every attempt, as in production when a lifecycle rule archives the
inbox or a file is uploaded straight to Archive. Nothing in the product is patched for the test.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from azure.storage.blob import StandardBlobTier
from azure.storage.queue import QueueClient, TextBase64EncodePolicy

from shared.pipeline.poison import POISON_QUEUE
from tests.e2e.fault_helpers import (
    FAST_RECOVERY,
    SAMPLE,
    assert_paid_once,
    log_mark,
    run_view,
    unique,
    wait_for_state,
    wait_until,
)
from tests.e2e.pipeline_helpers import Drops
from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e

CRASHED = "crashed on every attempt the host made"


def test_an_unreadable_blob_ends_in_a_poison_record_and_a_failed_run_while_others_deploy(
    make_stack: Callable[..., Stack], drops: Drops
) -> None:
    stack = make_stack(**FAST_RECOVERY)
    assert f"queue {POISON_QUEUE}" in stack.host.log(), (
        "no function listens on the poison queue: function_app.py must register functions/poison.py"
    )
    poisoned, healthy = unique("archived"), unique("healthy")
    since = log_mark(stack.emulator)
    etag = drops.drop(
        stack,
        poisoned,
        "train.jsonl",
        (SAMPLE / "train.jsonl").read_bytes(),
        standard_blob_tier=StandardBlobTier.ARCHIVE,
    )
    drops.drop_sample(stack, healthy)

    failed = wait_for_state(stack, poisoned, "failed", timeout=60)
    reason = failed["failure_reason"]
    assert reason.startswith(f"validating {poisoned}/train.jsonl {CRASHED}"), reason
    assert POISON_QUEUE in reason
    assert failed["files"]["train.jsonl"]["valid"] is False
    assert failed["timeline"][-1]["to"] == "failed" and failed["timeline"][-1]["reason"] == reason

    # The host's own poison record: the blob's receipt says it gave up after 5 attempts.
    receipt = stack.blobs.get_blob_client(
        "azure-webjobs-hosts",
        f"blobreceipts/localdev/validate_dropped_file/{etag.strip(chr(34))}/"
        f"{stack.environ['INBOX_CONTAINER']}/{poisoned}/train.jsonl",
    )
    assert receipt.get_blob_properties().metadata == {"status": "poison", "attempts": "5"}
    report = json.loads(
        stack.reports.download_blob(f"{poisoned}/train.jsonl.report.json").readall()
    )
    assert report["valid"] is False and report["errors"][0]["code"] == "validation_crashed"

    # The other run was not held up, and every dropped file is untouched (checked again by the
    # `drops` fixture after the test), the poisoned one still in the Archive tier.
    wait_for_state(stack, healthy, "deployed", timeout=60)
    assert_paid_once(stack.emulator, healthy, since=since)
    drops.check_untouched()
    properties = stack.inbox.get_blob_client(f"{poisoned}/train.jsonl").get_blob_properties()
    assert properties.blob_tier == "Archive"

    # The host delivering the poison message again (at-least-once) changes nothing.
    queue = QueueClient.from_connection_string(
        stack.azurite.connection_string,
        POISON_QUEUE,
        message_encode_policy=TextBase64EncodePolicy(),
    )
    message = {
        "Type": "BlobTrigger",
        "FunctionId": "Host.Functions.validate_dropped_file",
        "BlobType": "BlockBlob",
        "ContainerName": stack.environ["INBOX_CONTAINER"],
        "BlobName": f"{poisoned}/train.jsonl",
        "ETag": etag,
    }
    sent = queue.send_message(json.dumps(message))
    wait_until(
        lambda: f"Poison message {sent.id}: duplicate" in stack.host.log(),
        timeout=20,
        what="the host to hand the repeated poison message to the function",
    )
    assert run_view(stack, poisoned) == failed
