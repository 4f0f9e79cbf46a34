"""Admission: which runs may take room on a shared Azure OpenAI account now, and why the rest wait.

A pure rule, no I/O. The tick counts what is on the account once (every tool's files, jobs and
deployments, `AccountUsage`), adds what runs already admitted will still put there
(`reserved_by`), and asks `admit` about the runs that need room (`need_of`):

- training: before its upload, a run needs room for its files (the ones it uploads plus the
  job's results file), their bytes, and one job among queued plus running ones (and among the
  jobs the account holds in all);
- deployment: a run whose training succeeded needs one fine-tuned deployment slot.

Each kind of room is a queue served in the order runs became ready (`ready_at`, then name): a
run never overtakes one that waits before it, so a big run is not starved by small ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from shared.runs.limits import AccountLimits
from shared.runs.plan import CreateDeployment, CreateJob, RunPolicy, StartRun, UploadFile, next_step
from shared.runs.record import Run
from shared.runs.states import RunState

S = RunState
RESULTS_FILES_PER_JOB = 1


class Need(StrEnum):
    TRAINING = "training"
    DEPLOYMENT = "deployment"


@dataclass(frozen=True)
class AccountUsage:
    """What is on the account now, whoever put it there."""

    files: int = 0
    file_bytes: int = 0
    active_jobs: int = 0
    """Queued plus running (pending, validating_files, queued, running)."""
    total_jobs: int = 0
    deployments: int = 0
    """Deployments of fine-tuned models."""

    def plus(self, other: AccountUsage) -> AccountUsage:
        return AccountUsage(
            self.files + other.files,
            self.file_bytes + other.file_bytes,
            self.active_jobs + other.active_jobs,
            self.total_jobs + other.total_jobs,
            self.deployments + other.deployments,
        )


@dataclass(frozen=True)
class RoomRequest:
    """A run asking for room: what it will put on the account."""

    run: str
    need: Need
    ready_at: datetime
    files: int = 0
    file_bytes: int = 0


@dataclass(frozen=True)
class Admitted:
    pass


@dataclass(frozen=True)
class Waiting:
    """Why a run waits: `what` ran out (`in_use` of `limit`), with `ahead` runs before it."""

    need: Need
    what: str
    in_use: int
    limit: int
    ahead: int = 0
    unit: str = "in use"

    def describe(self) -> str:
        runs = "run" if self.ahead == 1 else "runs"
        return (
            f"waiting for {self.what}: {self.in_use:,} of {self.limit:,} {self.unit}, "
            f"{self.ahead} {runs} ahead"
        )


Decision = Admitted | Waiting


@dataclass
class _Queue:
    blocked_by: Waiting | None = None
    waiting: int = 0
    taken: AccountUsage = field(default_factory=AccountUsage)


def admit(
    requests: Iterable[RoomRequest], usage: AccountUsage, limits: AccountLimits
) -> dict[str, Decision]:
    """The decision for each request, serving each kind of room first come, first served."""
    queues = {need: _Queue() for need in Need}
    decisions: dict[str, Decision] = {}
    for request in sorted(requests, key=lambda item: (item.ready_at, item.run)):
        queue = queues[request.need]
        in_use = usage.plus(queues[Need.TRAINING].taken).plus(queues[Need.DEPLOYMENT].taken)
        short = queue.blocked_by or _shortage(request, in_use, limits)
        if short is None:
            decisions[request.run] = Admitted()
            queue.taken = queue.taken.plus(_taking(request))
            continue
        queue.blocked_by = short
        decisions[request.run] = Waiting(
            short.need, short.what, short.in_use, short.limit, queue.waiting, short.unit
        )
        queue.waiting += 1
    return decisions


def _taking(request: RoomRequest) -> AccountUsage:
    if request.need is Need.DEPLOYMENT:
        return AccountUsage(deployments=1)
    return AccountUsage(request.files, request.file_bytes, 1, 1, 0)


def _shortage(request: RoomRequest, used: AccountUsage, limits: AccountLimits) -> Waiting | None:
    """What the account lacks for `request`, or None when it fits."""
    need = request.need
    if need is Need.DEPLOYMENT:
        if used.deployments + 1 > limits.deployments:
            return Waiting(need, "a deployment slot", used.deployments, limits.deployments)
        return None
    in_line = limits.running_jobs + limits.queued_jobs
    checks = (
        (used.active_jobs + 1 > in_line, "a job slot", used.active_jobs, in_line,
         "queued and running jobs"),
        (used.total_jobs + 1 > limits.total_jobs, "a job slot", used.total_jobs,
         limits.total_jobs, "jobs held by the account (delete finished jobs to free some)"),
        (used.files + request.files > limits.files, "room for its files", used.files,
         limits.files, "files in use"),
        (used.file_bytes + request.file_bytes > limits.file_bytes, "room for its files",
         used.file_bytes, limits.file_bytes, "bytes in use"),
    )  # fmt: skip
    for full, what, in_use, limit, unit in checks:
        if full:
            return Waiting(need, what, in_use, limit, unit=unit)
    return None


# -- what a run needs, and what admitted runs still hold ------------------------------------------


def need_of(run: Run, now: datetime, policy: RunPolicy) -> RoomRequest | None:
    """The room `run` asks for now, or None when its next step takes none."""
    if not run.is_active:
        return None
    step = next_step(run, now, policy)
    waited = run.capacity_wait
    ready_at = waited.since if waited is not None else now
    if isinstance(step, StartRun) or (
        waited is not None
        and waited.need == Need.TRAINING
        and isinstance(step, UploadFile | CreateJob)
    ):
        files, size = _still_to_upload(run)
        return RoomRequest(run.name, Need.TRAINING, ready_at, files + RESULTS_FILES_PER_JOB, size)
    if isinstance(step, CreateDeployment) and (
        run.deployment is None or not run.deployment.created
    ):
        return RoomRequest(run.name, Need.DEPLOYMENT, ready_at)
    return None


def reserved_by(runs: Iterable[Run], asking: Mapping[str, RoomRequest]) -> AccountUsage:
    """What admitted runs will still put on the account but the account does not show yet:
    files not uploaded, the job not created, the results file not visible until the job ends,
    the deployment not created. Runs in `asking` ask again instead of holding room."""
    total = AccountUsage()
    for run in runs:
        if run.name in asking or not run.is_active:
            continue
        if run.state in (S.UPLOADING, S.PROCESSING_FILES):
            files, size = _still_to_upload(run)
            total = total.plus(AccountUsage(files + RESULTS_FILES_PER_JOB, size, 1, 1))
        elif run.state in (S.QUEUED, S.RUNNING):
            total = total.plus(AccountUsage(files=RESULTS_FILES_PER_JOB))
        elif run.state is S.DEPLOYING and _deployment_not_created(run):
            total = total.plus(AccountUsage(deployments=1))
    return total


def _deployment_not_created(run: Run) -> bool:
    return run.deployment is None or not run.deployment.created


def _still_to_upload(run: Run) -> tuple[int, int]:
    kinds = [kind for kind in run.kinds_to_upload() if kind not in run.uploads]
    size = 0
    for kind in kinds:
        verdict = run.files.get(kind)
        stated = verdict.stats.get("bytes") if verdict is not None else None
        size += stated if isinstance(stated, int) else 0
    return len(kinds), size


__all__ = [
    "AccountLimits",
    "AccountUsage",
    "Admitted",
    "Decision",
    "Need",
    "RoomRequest",
    "Waiting",
    "admit",
    "need_of",
    "reserved_by",
]
