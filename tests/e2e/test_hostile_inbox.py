"""Hostile blobs dropped into the inbox, through the local host's blob trigger: odd names (path
tricks, unicode, great length, nested folders) and run files with content that once escaped the
rules. Each ends validated, rejected or ignored with a reason; none sends the trigger into the
poison queue, and none holds back a good run dropped beside it."""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.queue import QueueClient

from tests.e2e.fault_helpers import SAMPLE, unique
from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e

# Inbox blobs whose names are not `<run>/<file>` with a valid run name. (`a/../b` cannot be
# dropped at all: HTTP clients resolve the dot segments and storage refuses the signature; blob
# storage turns a backslash into a slash. The unit tests in tests/hostile cover both names.)
ODD_BLOBS = [
    "Big/train.jsonl", "ミナト/train.jsonl",
    "a b/train.jsonl", "a\\b/train.jsonl", "x" * 300 + "/train.jsonl", "y" * 1100,
    "nested/deep/train.jsonl", "loose.jsonl", "run%2Ftrain.jsonl", "cafe\u0301/train.jsonl",
    "-dash/train.jsonl", "%2e%2e/train.jsonl", "emoji-😀/run.json", "tab\there/train.jsonl",
    "ok-name/TRAIN.JSONL", "ok-name/train.jsonl.bak", "zero\u200bwidth/run.json",
]  # fmt: skip


def handled(log: str, blob_name: str) -> str | None:
    """How the trigger settled `blob_name`, from the host log; None while it has not."""
    if f"failed on {blob_name}" in log:
        return "failed"
    found = re.search(
        rf"Dropped {re.escape(blob_name)}: (validated|ignored|rejected|duplicate) ", log
    )
    return found.group(1) if found else None


def poison_messages(stack: Stack) -> list[dict[str, Any]]:
    queue = QueueClient.from_connection_string(
        stack.azurite.connection_string, "webjobs-blobtrigger-poison"
    )
    try:
        peeked = queue.peek_messages(max_messages=32)
    except ResourceNotFoundError:  # the queue exists once something was poisoned
        return []
    messages = [json.loads(base64.b64decode(item.content)) for item in peeked]
    return [item for item in messages if item["ContainerName"] == stack.environ["INBOX_CONTAINER"]]


def settle(stack: Stack, names: list[str], timeout: float = 60) -> dict[str, str | None]:
    deadline = time.monotonic() + timeout
    outcomes: dict[str, str | None] = {}
    while time.monotonic() < deadline:
        log = stack.host.log()
        outcomes = {name: handled(log, name) for name in names}
        if all(outcomes.values()):
            break
        time.sleep(0.3)
    return outcomes


def test_blobs_with_odd_names_are_rejected_or_ignored_with_a_reason_never_poisoned(
    stack: Stack,
) -> None:
    good = unique("fine")
    stack.inbox.upload_blob(f"{good}/train.jsonl", (SAMPLE / "train.jsonl").read_bytes())
    for name in ODD_BLOBS:
        stack.inbox.upload_blob(name, b'{"messages": []}\n')
    stored = [blob.name for blob in stack.inbox.list_blobs() if not blob.name.startswith(good)]
    assert len(stored) == len(ODD_BLOBS)
    outcomes = settle(stack, [*stored, f"{good}/train.jsonl"])
    assert outcomes.pop(f"{good}/train.jsonl") == "validated", outcomes
    assert all(outcome in ("ignored", "rejected") for outcome in outcomes.values()), outcomes
    log = stack.host.log()
    for name, outcome in outcomes.items():
        if outcome == "rejected":
            report = json.loads(stack.reports.download_blob(f"{name}.report.json").readall())
            assert report["valid"] is False
            assert report["errors"][0]["code"] == "invalid_run_name"
            assert "run name" in report["errors"][0]["message"]
        else:
            assert f"Ignoring inbox blob {name!r}: " in log, name
    assert poison_messages(stack) == [] and "Traceback" not in log
    status, run, _ = stack.call("GET", f"/api/runs/{good}")
    assert status == 200 and run["files"]["train.jsonl"]["valid"] is True


# Run files whose content once escaped the rules: each must get a report and an invalid verdict.
HOSTILE_CONTENT = {
    "run.json": {
        "surrogate-key": b'{"\\ud800": 1}',
        "long-number": b'{"seed": ' + b"9" * 5000 + b"}",
    },
    "train.jsonl": {
        "surrogate-key": b'{"messages": [{"role": "user", "content": "a"}], "\\udfff": 1}\n',
        "long-number": b'{"messages": [], "n": ' + b"1" * 5000 + b"}\n",
    },
}


@pytest.mark.parametrize(
    ("file_name", "case"),
    [
        ("train.jsonl", "surrogate-key"),
        ("train.jsonl", "long-number"),
        ("run.json", "surrogate-key"),
        ("run.json", "long-number"),
    ],
)
def test_run_files_with_hostile_content_get_an_invalid_verdict_and_a_report(
    module_stack: Stack, file_name: str, case: str
) -> None:
    stack = module_stack  # each case drops into a run of its own name: one host for all
    run = unique(case)
    blob_name = f"{run}/{file_name}"
    stack.inbox.upload_blob(blob_name, HOSTILE_CONTENT[file_name][case])
    assert settle(stack, [blob_name], timeout=30)[blob_name] == "validated", stack.host.log()[
        -2000:
    ]
    report = json.loads(stack.reports.download_blob(f"{blob_name}.report.json").readall())
    assert report["valid"] is False and report["errors"]
    status, view, _ = stack.call("GET", f"/api/runs/{run}")
    assert status == 200 and view["files"][file_name]["valid"] is False
