"""What is due for a run now: a pure decision from the record, the time and the policy.

The timer's service asks `next_step` for each active run and carries the step out through the
adapters. One step per run per tick keeps every tick short and every transition saved before the
next call is made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.runs import cleanup
from shared.runs.config import RunDefaults
from shared.runs.evaluation_flag import evaluation_due
from shared.runs.limits import AccountLimits
from shared.runs.names import FileKind
from shared.runs.record import Run
from shared.runs.retry import RetryPolicy
from shared.runs.states import TRANSITIONS, RunState

S = RunState


@dataclass(frozen=True)
class RunPolicy:
    """The timings the plan applies (from the app settings)."""

    defaults: RunDefaults
    settle_seconds: float = 60.0
    stalled_after_minutes: float = 120.0
    claim_lease_seconds: float = 300.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    tick_workers: int = 1
    """How many runs one tick advances at once (each run's calls stay in order)."""
    evaluate: bool = False
    """Evaluate deployed models (the EVAL_ENABLED setting; see `shared.evaluation`)."""
    limits: AccountLimits = field(default_factory=AccountLimits)
    """The account's count limits runs wait for (`shared.runs.admission`)."""
    keep_files_hours: float | None = 0.0
    """How long the run's files stay on the service after its job ended; None: for ever."""
    deployment_check_minutes: float = 30.0
    """How often a deployed run reads its deployment back (a vanished one is noticed)."""


@dataclass(frozen=True)
class Step:
    """Base of every decision; `name` is what the timeline and logs call it."""

    @property
    def name(self) -> str:
        return type(self).__name__


@dataclass(frozen=True)
class Nothing(Step):
    reason: str


@dataclass(frozen=True)
class WaitForFiles(Step):
    reason: str


@dataclass(frozen=True)
class FailRun(Step):
    reason: str


@dataclass(frozen=True)
class StartRun(Step):
    reason: str


@dataclass(frozen=True)
class CancelRun(Step):
    pass


@dataclass(frozen=True)
class UploadFile(Step):
    kind: FileKind


@dataclass(frozen=True)
class WaitForFileProcessing(Step):
    kinds: tuple[FileKind, ...]


@dataclass(frozen=True)
class CreateJob(Step):
    pass


@dataclass(frozen=True)
class PollJob(Step):
    pass


@dataclass(frozen=True)
class CreateDeployment(Step):
    pass


@dataclass(frozen=True)
class PollDeployment(Step):
    pass


@dataclass(frozen=True)
class ProbeChat(Step):
    pass


@dataclass(frozen=True)
class DeleteDeployment(Step):
    reason: str


@dataclass(frozen=True)
class EvaluateModel(Step):
    """Start or advance the evaluation of the deployed model by a few calls."""


@dataclass(frozen=True)
class CleanUpFiles(Step):
    """Schedule or carry out the deletion of the run's files on the service (`runs.cleanup`)."""


@dataclass(frozen=True)
class CheckDeployment(Step):
    """Read a deployed run's deployment back through ARM: it may have vanished."""


# Steps that create something paid or lasting: claimed (saved) before the call is made.
# Deleting needs no claim: it is idempotent and frees rather than creates. An evaluation is
# claimed so that two hosts never ask the same probe.
CLAIMED_STEPS = (UploadFile, CreateJob, CreateDeployment, EvaluateModel)


def next_step(run: Run, now: datetime, policy: RunPolicy) -> Step:
    """The one step due for `run` at `now`."""
    if not run.is_active:
        return Nothing(f"the run is {run.state.value}")
    if run.claim is not None:
        lease_end = run.claim.at + timedelta(seconds=policy.claim_lease_seconds)
        if now < lease_end:
            return Nothing(f"another tick is doing {run.claim.step} since {run.claim.at:%H:%M:%S}")
    if run.cancel_requested and RunState.CANCELLED in TRANSITIONS[run.state]:
        return CancelRun()
    if run.retry is not None and now < run.retry.next_attempt_at:
        return Nothing(f"waiting to retry {run.retry.step} at {run.retry.next_attempt_at:%H:%M:%S}")
    if cleanup.due(run, now):
        return CleanUpFiles()
    return _STEPS[run.state](run, now, policy)


def is_stalled(run: Run, now: datetime, policy: RunPolicy) -> bool:
    """True when an active run has made no progress for `stalled_after_minutes` and is not
    simply serving its deployment."""
    if run.stalled or not run.is_active or run.state is S.DEPLOYED:
        return False
    if run.capacity_wait is not None:
        return False  # waiting for room on the account is not being stuck
    if (
        run.state.terminal
        or run.state is S.EXPIRED
        or (not run.deploy_wanted and run.state is S.SUCCEEDED)
    ):
        return False  # active only until its files on the service are deleted
    return now - run.last_progress_at >= timedelta(minutes=policy.stalled_after_minutes)


def _waiting(run: Run, now: datetime, policy: RunPolicy) -> Step:
    for kind in (FileKind.CONFIG, FileKind.TRAIN, FileKind.VALIDATION):
        verdict = run.files.get(kind)
        if verdict is not None and not verdict.valid:
            return FailRun(f"{kind.value} is not valid: {verdict.summary}")
    train = run.files.get(FileKind.TRAIN)
    if train is None:
        return WaitForFiles(f"waiting for {FileKind.TRAIN.value}")
    if FileKind.VALIDATION in run.files:
        return StartRun("train.jsonl and validation.jsonl passed validation")
    settled_at = train.checked_at + timedelta(seconds=policy.settle_seconds)
    if now >= settled_at:
        return StartRun(
            f"train.jsonl passed validation and no validation.jsonl arrived within "
            f"{policy.settle_seconds:g} s"
        )
    return WaitForFiles(f"waiting until {settled_at:%H:%M:%S} for a validation.jsonl")


def _uploading(run: Run, now: datetime, policy: RunPolicy) -> Step:
    for kind in run.kinds_to_upload():
        if kind not in run.uploads:
            return UploadFile(kind)
    return WaitForFileProcessing(tuple(run.uploads))


def _processing(run: Run, now: datetime, policy: RunPolicy) -> Step:
    for kind, uploaded in run.uploads.items():
        if uploaded.status == "error":
            reason = uploaded.error or "the service gave no reason"
            return FailRun(f"Azure OpenAI could not process {kind.value}: {reason}")
    pending = tuple(kind for kind, item in run.uploads.items() if item.status != "processed")
    return WaitForFileProcessing(pending) if pending else CreateJob()


def _training(run: Run, now: datetime, policy: RunPolicy) -> Step:
    return PollJob()


def _succeeded(run: Run, now: datetime, policy: RunPolicy) -> Step:
    return CreateDeployment() if run.deploy_wanted else Nothing("training is done")


def _deploying(run: Run, now: datetime, policy: RunPolicy) -> Step:
    deployment = run.deployment
    if deployment is not None and deployment.teardown_requested:
        return DeleteDeployment("tear-down requested")
    if deployment is None or not deployment.created:
        return CreateDeployment()
    if deployment.state != "Succeeded":
        return PollDeployment()
    return ProbeChat()


def _deployed(run: Run, now: datetime, policy: RunPolicy) -> Step:
    deployment = run.deployment
    if deployment is None:
        return Nothing("no deployment recorded")
    if deployment.teardown_requested:
        return DeleteDeployment("tear-down requested")
    if deployment.expires_at is not None and now >= deployment.expires_at:
        return DeleteDeployment(f"its time to live of {deployment.ttl_hours:g} h ended")
    if evaluation_due(run.evaluation, policy.evaluate):
        return EvaluateModel()
    checked = deployment.checked_at or deployment.serving_at
    if checked is not None and now >= checked + timedelta(minutes=policy.deployment_check_minutes):
        return CheckDeployment()
    return Nothing("deployed")


def _nothing(run: Run, now: datetime, policy: RunPolicy) -> Step:
    return Nothing(f"the run is {run.state.value}")


_STEPS = {
    S.WAITING_FOR_FILES: _waiting,
    S.UPLOADING: _uploading,
    S.PROCESSING_FILES: _processing,
    S.QUEUED: _training,
    S.RUNNING: _training,
    S.SUCCEEDED: _succeeded,
    S.DEPLOYING: _deploying,
    S.DEPLOYED: _deployed,
    S.EXPIRED: _nothing,
    S.FAILED: _nothing,
    S.CANCELLED: _nothing,
}
