"""Exactly once, end to end: a file dropped again, a trigger fired again, two hosts on one storage
account and a host killed between a paid call and its record each leave one upload per file,
one fine-tuning job and one deployment, counted in the emulator's request log."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from azure.storage.blob import BlobServiceClient

from localdev.emulator import Fault
from localdev.emulator.requestlog import RequestLog, RequestRecord
from localdev.host.blobs import RECEIPTS_CONTAINER
from shared.pipeline.steps import upload_filename
from shared.runs.names import FileKind
from tests.e2e.fault_helpers import ticks_logged
from tests.e2e.pipeline_helpers import (
    TRAIN,
    Drops,
    Ledger,
    get_run,
    states_of,
    stored_run,
    timeline_text,
    train_data,
    unique,
    wait_for,
    wait_until,
)
from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e

SHARED_STORAGE = ("INBOX_CONTAINER", "REPORTS_CONTAINER", "RUNS_TABLE")


def test_a_file_dropped_again_while_the_job_is_being_created_is_ignored_and_one_job_runs(
    make_stack: Callable[..., Stack], drops: Drops
) -> None:
    # The claim lease keeps its default (300 s): the run must not wait for it to end.
    stack = make_stack(RETRY_BASE_SECONDS="0.5", SETTLE_SECONDS="1")  # no validation.jsonl
    ledger = Ledger(stack.emulator)
    run = unique("dropped-twice")
    first_etag = drops.drop(stack, run, TRAIN, train_data())
    # The job creation is held until the second drop has been recorded on the run, then fails:
    # the drop lands while the timer is in the middle of that paid call, however slow the
    # machine.
    stack.emulator.inject(
        Fault("timeout", path_contains="/fine_tuning/jobs", method="POST", hold_seconds=600)
    )
    try:
        wait_until(stack, run, lambda view: ledger.calls("POST", "/fine_tuning/jobs") == 1)
        drops.drop(stack, run, TRAIN, train_data())  # the same bytes: a new blob version (ETag)
        ignored = wait_until(stack, run, lambda view: bool(view["ignored_changes"]))
        assert ignored["state"] == "processing_files"
    finally:
        stack.emulator.release_holds()

    deployed = wait_for(stack, run, "deployed", timeout=40)
    assert [item["file"] for item in deployed["ignored_changes"]] == [TRAIN]
    assert "train.jsonl changed after the run started" in deployed["ignored_changes"][0]["reason"]
    # The drop was saved while the timer was creating the job: the timer's own save lost that
    # race, and the run went on at the next tick rather than after the claim's 300 s lease.
    assert f"Run {run} left for this tick" in stack.host.log()
    assert states_of(deployed).count("queued") == 1
    # The run kept the version it validated first: only that one was uploaded, once.
    assert [f.filename for f in ledger.files(run)] == [
        upload_filename(run, FileKind.TRAIN, first_etag)
    ]
    assert ledger.calls("POST", "/openai/files") == 1
    assert ledger.calls("POST", "/fine_tuning/jobs", status=0) == 1
    assert ledger.calls("POST", "/fine_tuning/jobs", status=201) == 1
    assert len(ledger.jobs(run)) == 1
    assert ledger.calls("PUT", f"/deployments/tunedrop-{run}") == 1

    # The blob trigger fires again for every version it has seen (its receipts are lost, as
    # after a storage clean-up): each one is a duplicate and changes nothing.
    stack.host.stop()
    forget_receipts(stack, run)
    stack.host.start()
    wait_until(stack, run, lambda view: stack.host.log().count(f"Dropped {run}/") >= 3)
    assert stack.host.log().count(f"Dropped {run}/train.jsonl: duplicate") == 1
    again = get_run(stack, run)
    assert (again["state"], again["updated_at"]) == ("deployed", deployed["updated_at"])
    assert ledger.calls("POST", "/openai/files") == 1 and len(ledger.jobs(run)) == 1


def test_two_hosts_on_one_storage_account_upload_train_and_deploy_each_run_once(
    make_stack: Callable[..., Stack], drops: Drops
) -> None:
    first = make_stack(RETRY_BASE_SECONDS="0.5")
    second = make_stack(
        RETRY_BASE_SECONDS="0.5", **{name: first.environ[name] for name in SHARED_STORAGE}
    )
    ledger = Ledger(first.emulator)
    runs = [unique("twin"), unique("twin")]
    # The first upload is held: the host that sent it is stuck in its tick, so the other one
    # must advance the runs meanwhile; both hosts take part, whichever the machine favours.
    stacks = [first, second]
    first.emulator.inject(Fault("timeout", "/openai/files", "POST", hold_seconds=600))
    try:
        for run in runs:
            drops.drop_run(first, run)
        wait_until(first, runs[0], lambda _: ledger.calls("POST", "/openai/files", status=0))
        active = [ticks_logged(s.host.log(), active=True) for s in stacks]
        wait_until(
            first,
            runs[0],
            lambda _: any(
                ticks_logged(s.host.log(), active=True) > before
                for s, before in zip(stacks, active, strict=True)
            ),
        )
    finally:
        first.emulator.release_holds()

    for run in runs:
        deployed = wait_for(first, run, "deployed")
        assert get_run(second, run)["state"] == "deployed"
        assert states_of(deployed).count("uploading") == 1
        assert sorted(f.filename.split("--")[1] for f in ledger.files(run)) == [
            "train", "validation",
        ]  # fmt: skip
        assert len(ledger.jobs(run)) == 1
        assert ledger.calls("PUT", f"/deployments/tunedrop-{run}") == 1
    assert ledger.calls("POST", "/openai/files", status=201) == 4
    assert ledger.calls("POST", "/fine_tuning/jobs") == 2
    # Both hosts really took part: each was told of every dropped file (each is its own Event
    # Grid subscription, so they race for each blob's receipt) and ticked active runs.
    for stack in (first, second):
        log = stack.host.log()
        assert ticks_logged(log, active=True) > 0
        assert log.count("Event Grid delivered 1 event(s) for Host.Functions.validate_") >= 4
    # Each blob version was handled by one host, once (which host is the machine's choice).
    dropped = first.host.log().count("Dropped twin-") + second.host.log().count("Dropped twin-")
    assert dropped == 4


@pytest.mark.parametrize(
    ("method", "path", "claimed_step"),
    [
        ("POST", "/openai/files", "UploadFile"),
        ("POST", "/fine_tuning/jobs", "CreateJob"),
        ("PUT", "/deployments/tunedrop-", "CreateDeployment"),
    ],
    ids=["upload", "job", "deployment"],
)
def test_a_host_killed_right_after_a_paid_call_recovers_without_a_second_one(
    make_stack: Callable[..., Stack],
    drops: Drops,
    monkeypatch: pytest.MonkeyPatch,
    method: str,
    path: str,
    claimed_step: str,
) -> None:
    stack = make_stack(CLAIM_LEASE_SECONDS="2")
    ledger = Ledger(stack.emulator)
    run = unique("crash")
    killed = kill_host_when_served(stack, monkeypatch, method, path)
    drops.drop_run(stack, run)
    assert killed.wait(30), "the host never made the call it was to be killed after"

    # The emulator did the work, but the host died before it could record it.
    stored = stored_run(stack, run)
    assert stored is not None and stored.claim is not None
    assert stored.claim.step == claimed_step
    if claimed_step == "UploadFile":
        assert stored.uploads == {} and len(ledger.files(run)) == 1
    if claimed_step == "CreateJob":
        assert stored.job is None and len(ledger.jobs(run)) == 1
    if claimed_step == "CreateDeployment":
        assert stored.deployment is None and ledger.deployment(f"tunedrop-{run}") is not None

    stack.host.start()
    deployed = wait_for(stack, run, "deployed", timeout=40)
    if claimed_step == "CreateJob":
        assert "found the job an earlier attempt created" in timeline_text(deployed)
    assert deployed["deployment"]["created_by_tunedrop"] is True
    assert sorted(f.filename.split("--")[1] for f in ledger.files(run)) == ["train", "validation"]
    assert ledger.calls("POST", "/openai/files") == 2
    assert len(ledger.jobs(run)) == 1 and ledger.calls("POST", "/fine_tuning/jobs") == 1
    assert ledger.calls("PUT", f"/deployments/tunedrop-{run}") == 1


def kill_host_when_served(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, method: str, path: str
) -> threading.Event:
    """Kills the host the moment the emulator has served the first successful `method` request
    on `path`: after the emulator did the work, before the host reads the answer. Hooked into
    the emulator's request log, which records a request before its answer is sent."""
    killed = threading.Event()
    append = RequestLog.append

    def append_then_kill(log: RequestLog, record: RequestRecord) -> None:
        append(log, record)
        wanted = record.method == method and path in record.path and 200 <= record.status < 300
        if wanted and not killed.is_set():
            killed.set()
            stack.host.kill()

    monkeypatch.setattr(RequestLog, "append", append_then_kill)
    return killed


def forget_receipts(stack: Stack, run: str) -> None:
    """Deletes the host's blob-trigger receipts of this run's blobs, and the local Event Grid
    stand-in's record of having delivered them, so every event is delivered and run again."""
    receipts = BlobServiceClient.from_connection_string(
        stack.azurite.connection_string
    ).get_container_client(RECEIPTS_CONTAINER)
    marker = f"/{stack.environ['INBOX_CONTAINER']}/{run}/"
    for blob in receipts.list_blobs():
        if marker in blob.name:
            receipts.delete_blob(blob.name)
