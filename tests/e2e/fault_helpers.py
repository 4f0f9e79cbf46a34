"""What the fault tests share: dropping a run, following it, counting its paid calls in the
emulator, checking its timeline, and storage or an emulator that can go away and come back."""

from __future__ import annotations

import re
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
from azure.data.tables import TableServiceClient

from localdev.azurite import AzuritePorts, running_azurite
from localdev.emulator import Fault
from shared.adapters.table_store import TableRunStore
from shared.runs.record import Run
from shared.runs.states import TRANSITIONS, RunState
from tests.e2e.stack import Stack

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "kitsune-shopkeeper"
# Short enough that recovery after a crash and retries after an error happen within seconds;
# the production defaults (300 s, 30 s) are the same mechanisms, only slower.
FAST_RECOVERY = {"CLAIM_LEASE_SECONDS": "2", "RETRY_BASE_SECONDS": "0.5"}
FINISHED = ("failed", "cancelled", "expired")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def drop_sample(stack: Stack, run: str, *, validation: bool = True) -> None:
    """Drops the shipped sample run (train, and validation unless told not to) into the inbox,
    for tests that make no claim about the inbox (those drop through the `drops` fixture)."""
    kinds = ["train.jsonl", "validation.jsonl"] if validation else ["train.jsonl"]
    for kind in kinds:
        stack.inbox.upload_blob(f"{run}/{kind}", (SAMPLE / kind).read_bytes())


def wait_until(condition: Callable[[], Any], timeout: float, what: str, poll: float = 0.05) -> Any:
    """Polls `condition` until it returns something truthy, which it returns."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


TICK_LINE = re.compile(r"Tick: (\d+) active runs, .*?, (\d+) conflicts")


def ticks_logged(log: str, *, active: bool = False) -> int:
    """How many timer ticks a host's log shows finished (each logs one `Tick:` line); with
    `active`, only those that found active runs. To prove that a tick did NOT do something,
    wait until a tick that began after the cause has ended: two more than were logged then."""
    return sum(1 for found, _ in TICK_LINE.findall(log) if not active or int(found) > 0)


def run_view(stack: Stack, run: str) -> dict[str, Any] | None:
    """`GET /api/runs/{run}`, or None while the run is unknown or the host cannot answer."""
    try:
        status, body, _ = stack.call("GET", f"/api/runs/{run}")
    except OSError:
        return None
    return body if status == 200 else None


def wait_for_state(stack: Stack, run: str, *states: str, timeout: float = 60) -> dict[str, Any]:
    """Follows the run over HTTP until it is in one of `states`; fails early on an end state
    that was not asked for, with the reason and the host's log."""
    deadline = time.monotonic() + timeout
    seen: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        seen = run_view(stack, run) or seen
        if seen and seen["state"] in states:
            return seen
        if seen and seen["state"] in FINISHED:
            break
        time.sleep(0.2)
    state = seen["state"] if seen else "unknown"
    reason = seen.get("failure_reason") if seen else None
    raise AssertionError(
        f"run {run} is {state} ({reason}), not {states}:\n{stack.host.log()[-4000:]}"
    )


def stored_run(stack: Stack, run: str) -> Run | None:
    """The run as stored in the table, read directly (works while the host is down)."""
    tables = TableServiceClient.from_connection_string(stack.azurite.connection_string)
    return TableRunStore(tables.get_table_client(stack.environ["RUNS_TABLE"])).find(run)


# -- paid calls ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaidCalls:
    """The calls that cost money or create something lasting, as the emulator served them."""

    uploads: int
    jobs: int
    deployments: int
    files_per_kind: dict[str, int]


def log_mark(emulator: Any) -> int:
    """Where the emulator's request log stands now; count from here for one test's calls."""
    return len(emulator.requests())


def paid_calls(emulator: Any, run: str, since: int) -> PaidCalls:
    """The paid calls served since `since` (uploads and jobs of every run then: their paths do
    not name the run; deployments of this run), and the files the emulator holds under this
    run's upload names."""
    served = [r for r in emulator.requests()[since:] if 200 <= r.status < 300]
    uploads = sum(
        1
        for r in served
        if r.method == "POST" and r.path.rstrip("/").endswith(("/openai/files", "/files/import"))
    )
    jobs = sum(
        1 for r in served if r.method == "POST" and r.path.rstrip("/").endswith("/fine_tuning/jobs")
    )
    deployments = sum(
        1 for r in served if r.method == "PUT" and r.path.endswith(f"/deployments/tunedrop-{run}")
    )
    per_kind: dict[str, int] = {}
    for item in _client(emulator).files.list():
        if item.filename.startswith(f"{run}--"):
            kind = item.filename.split("--")[1]
            per_kind[kind] = per_kind.get(kind, 0) + 1
    return PaidCalls(uploads, jobs, deployments, per_kind)


def jobs_of_run(emulator: Any, run: str) -> list[Any]:
    """The fine-tuning jobs trained on one of this run's uploaded files."""
    client = _client(emulator)
    ids = {item.id for item in client.files.list() if item.filename.startswith(f"{run}--")}
    return [job for job in client.fine_tuning.jobs.list(limit=100) if job.training_file in ids]


def assert_paid_once(emulator: Any, *runs: str, since: int, files: int = 2) -> None:
    """For each run, one upload per file, one job and one deployment, in the emulator's log
    since `since` and in its state; `runs` must be every run that made paid calls since."""
    expected_kinds = {"train": 1, "validation": 1} if files == 2 else {"train": 1}
    for run in runs:
        calls = paid_calls(emulator, run, since)
        assert calls.files_per_kind == expected_kinds, (run, calls)
        assert calls.deployments == 1, (run, calls)
        assert len(jobs_of_run(emulator, run)) == 1, run
    assert (calls.uploads, calls.jobs) == (files * len(runs), len(runs)), calls


def _client(emulator: Any) -> openai.AzureOpenAI:
    return openai.AzureOpenAI(
        azure_endpoint=emulator.url, api_key=emulator.api_key, api_version="2024-10-21"
    )


# -- timeline ------------------------------------------------------------------------------------


def assert_timeline_consistent(view: dict[str, Any]) -> list[str]:
    """Every move starts where the last one ended and is allowed by the state machine; no state
    is entered twice; the run is in the state the last move reached. Returns the states."""
    moves = [entry for entry in view["timeline"] if entry["from"] != entry["to"]]
    assert moves and moves[0]["from"] is None and moves[0]["to"] == "waiting_for_files", moves
    states = [moves[0]["to"]]
    for entry in moves[1:]:
        assert entry["from"] == states[-1], f"move {entry} does not start at {states[-1]}"
        assert RunState(entry["to"]) in TRANSITIONS[RunState(entry["from"])], entry
        assert entry["reason"], entry
        states.append(entry["to"])
    assert len(states) == len(set(states)), f"a state was entered twice: {states}"
    assert view["state"] == states[-1]
    times = [entry["at"] for entry in view["timeline"]]
    assert times == sorted(times), "the timeline is out of order"
    return states


# -- storage and emulator outages ----------------------------------------------------------------


class RestartableAzurite:
    """An Azurite of the test's own, on fixed ports with its data on disk, that can be stopped
    and started again on the same ports and data (as a storage outage or a restart)."""

    def __init__(self, data_dir: Path, ports: AzuritePorts) -> None:
        self.data_dir = data_dir
        self.ports = ports
        self._running: AbstractContextManager[AzuritePorts] | None = None

    @property
    def connection_string(self) -> str:
        return self.ports.connection_string

    def start(self) -> None:
        self._running = running_azurite(self.data_dir, self.ports)
        self._running.__enter__()

    def stop(self) -> None:
        if self._running is not None:
            running, self._running = self._running, None
            running.__exit__(None, None, None)


@contextmanager
def emulator_unreachable(emulator: Any) -> Iterator[None]:
    """Within the block, every request to either plane of the emulator has its connection
    closed unanswered, as if the service were down; the emulator keeps its state (jobs go on
    training), which a real outage of the front door would do too."""
    emulator.inject(Fault("timeout", path_contains="", times=1_000_000, hold_seconds=0.05))
    try:
        yield
    finally:
        emulator.clear_faults()


def wait_all(stack: Stack, runs: list[str], state: str, timeout: float) -> dict[str, Any]:
    """Waits until every run is `state`; fails at once, with its reason, on any failed run."""
    deadline = time.monotonic() + timeout
    views: dict[str, Any] = {}
    while time.monotonic() < deadline:
        views = {run: run_view(stack, run) or {"state": "unknown yet"} for run in runs}
        failed = [run for run, view in views.items() if view["state"] == "failed"]
        assert not failed, {run: views[run]["failure_reason"] for run in failed}
        if all(view["state"] == state for view in views.values()):
            return views
        time.sleep(0.3)
    states = {run: view["state"] for run, view in views.items()}
    raise AssertionError(f"not all {state} after {timeout:.0f} s: {states}\n{stack.host.log()}")


TRANSITION_LINE = re.compile(r"Run (\S+): (\w+) -> (\w+)")


def assert_each_move_logged_once(
    runs: list[str], views: list[dict[str, Any]], logs: list[str]
) -> None:
    """Each run's timeline is consistent, and each of its moves was logged by one host once: a
    host logs a move only after its save won, so a move logged twice would be a run advanced
    twice from the same state by two hosts that both believed they made it."""
    for run, view in zip(runs, views, strict=True):
        states = assert_timeline_consistent(view)
        logged = [
            (match[2], match[3])
            for log in logs
            for match in TRANSITION_LINE.finditer(log)
            if match[1] == run
        ]
        assert logged and max(Counter(logged).values()) == 1, logged
        assert all(start in states and end in states for start, end in logged), logged
