"""Stress: twenty runs dropped at once beside a run with a 120 MB training file, three times in a
row, on one `python -m localdev up`. Every run reaches `deployed`, and at the end the stack
still runs on the very Azurite it started, with nothing said about a child exiting."""

from __future__ import annotations

import json
import random
import signal
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient, ContainerClient

from localdev.azurite import REPO_ROOT, AzuritePorts
from localdev.processes import listening_pids
from tests.emulator.helpers import ROOMY_LIMITS, ROOMY_SETTINGS
from tests.localdev.up_process import UpProcess

pytestmark = pytest.mark.e2e

ROUNDS = 3
SMALL_RUNS = 20
BIG_BYTES = 120 * 1024 * 1024  # above the 100 MiB from which files go by SAS import
ROUND_SECONDS = 900  # a generous deadline: the machine may be busy with other work
SAMPLE = REPO_ROOT / "samples" / "kitsune-shopkeeper"
STACK_SETTINGS = {
    "RUN_TIMER_SCHEDULE": "00:00:00.25",  # a tick per emulator step: the quicker, the shorter
    "SETTLE_SECONDS": "2",
    # Evaluating 63 deployments would add chat calls to every tick of every round: that load is
    # the evaluation's to test, and here it would more than double the time of this one.
    "EVAL_ENABLED": "false",
    # Throughput, not the account's limits (tests/e2e/test_sharing.py has those): 63 deployments
    # live at once here, past the documented 10, so the emulator and the app are told of a
    # roomy account.
    "LOCALDEV_EMULATOR_LIMITS": json.dumps(
        {key: value for key, value in asdict(ROOMY_LIMITS).items() if key != "refusal"}
    ),
    **ROOMY_SETTINGS,
}
# Few steps for the big run: the emulator spends a tick per step, whatever the file size.
BIG_RUN_JSON = {"hyperparameters": {"n_epochs": 1, "batch_size": 256}}


@pytest.fixture(scope="module")
def big_training_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid chat file of BIG_BYTES, written at test time and never committed."""
    path = tmp_path_factory.mktemp("big") / "train.jsonl"
    rng = random.Random(7)
    sample = [json.loads(line) for line in (SAMPLE / "train.jsonl").read_text().splitlines()]
    texts = [message["content"] for example in sample for message in example["messages"]]
    paragraphs = [" ".join(rng.choices(texts, k=60)) for _ in range(64)]
    system = {"role": "system", "content": "You are the shopkeeper of a small fox shrine shop."}
    with path.open("w", encoding="utf-8") as out:
        number = 0
        while out.tell() < BIG_BYTES:
            number += 1
            example = {
                "messages": [
                    system,
                    {"role": "user", "content": f"Question {number}: {paragraphs[number % 64]}"},
                    {
                        "role": "assistant",
                        "content": f"Answer {number}: {paragraphs[-number % 64]}",
                    },
                ]
            }
            out.write(json.dumps(example) + "\n")
    return path


def drop_round(inbox: ContainerClient, round_number: int, big_file: Path) -> list[str]:
    """Uploads every file of the round's runs at once; returns the run names."""
    small = [f"stress-{round_number}-{index:02d}" for index in range(SMALL_RUNS)]
    big = f"stress-{round_number}-big"
    uploads: list[tuple[str, bytes | Path]] = [
        (f"{name}/{file}", (SAMPLE / file).read_bytes())
        for name in small
        for file in ("run.json", "train.jsonl", "validation.jsonl")
    ]
    uploads += [
        (f"{big}/run.json", json.dumps(BIG_RUN_JSON).encode()),
        (f"{big}/train.jsonl", big_file),
    ]

    def upload(item: tuple[str, bytes | Path]) -> None:
        blob, content = item
        if isinstance(content, Path):
            with content.open("rb") as stream:
                inbox.upload_blob(blob, stream, max_concurrency=4)
        else:
            inbox.upload_blob(blob, content)

    with ThreadPoolExecutor(max_workers=12) as pool:
        list(pool.map(upload, sorted(uploads, key=lambda item: not isinstance(item[1], Path))))
    return [*small, big]


def get(stack: UpProcess, path: str) -> Any:
    with urllib.request.urlopen(f"{stack.url}{path}", timeout=60) as answer:
        return json.loads(answer.read())


def states(stack: UpProcess) -> dict[str, str]:
    found, continuation = {}, ""
    while True:
        page = get(stack, f"/api/runs?page_size=100{continuation}")
        found.update({run["name"]: run["state"] for run in page["runs"]})
        if not page.get("continuation"):
            return found
        continuation = f"&continuation={page['continuation']}"


def wait_until_deployed(stack: UpProcess, names: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert stack.process.poll() is None, f"the stack stopped:\n{stack.output()}"
        now = states(stack)
        ended = {n: now[n] for n in names if now.get(n) in {"failed", "cancelled", "expired"}}
        assert not ended, {n: get(stack, f"/api/runs/{n}").get("failure_reason") for n in ended}
        if all(now.get(name) == "deployed" for name in names):
            return
        if time.monotonic() > deadline:
            waiting = {n: now.get(n) for n in names if now.get(n) != "deployed"}
            raise AssertionError(f"not deployed within {timeout:.0f} s: {waiting}")
        time.sleep(1)


def test_twenty_runs_and_a_120_mb_file_at_once_all_deploy_three_times_on_the_stacks_own_azurite(
    tmp_path: Path, big_training_file: Path
) -> None:
    stack = UpProcess.start(tmp_path, env=STACK_SETTINGS)
    try:
        stack.wait_until_up()
        azurite = stack.child("azurite")
        ports = AzuritePorts(
            blob=stack.ports["LOCALDEV_AZURITE_BLOB_PORT"],
            queue=stack.ports["LOCALDEV_AZURITE_QUEUE_PORT"],
            table=stack.ports["LOCALDEV_AZURITE_TABLE_PORT"],
        )
        blobs = BlobServiceClient.from_connection_string(ports.connection_string)
        inbox = blobs.get_container_client("training-inbox")
        if not inbox.exists():
            inbox.create_container()

        for round_number in range(1, ROUNDS + 1):
            names = drop_round(inbox, round_number, big_training_file)
            wait_until_deployed(stack, names, ROUND_SECONDS)

        assert azurite.is_running() and azurite.status() != "zombie"
        for port in (ports.blob, ports.queue, ports.table):
            assert listening_pids(port) == {azurite.pid}
        assert "The stack stops" not in stack.stderr()
        stack.process.send_signal(signal.SIGTERM)
        assert stack.wait_exit() == 0, stack.output()
    finally:
        stack.cleanup()
