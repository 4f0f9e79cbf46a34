"""The run record: everything Tunedrop knows about one run, and the domain methods that change it.

Methods take the facts an adapter observed and the time, move the run through `states`, and append
to its timeline. They raise `IllegalTransition` for a move its state forbids. No I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from shared.errors import IllegalTransition
from shared.runs.config import RunConfig
from shared.runs.curves import Verdict
from shared.runs.evaluation_flag import EvaluationFlag
from shared.runs.facts import (
    MAX_EVENTS,
    MAX_IGNORED,
    MAX_TIMELINE,
    CapacityWait,
    Checkpoint,
    Claim,
    DeploymentInfo,
    FilesCleanup,
    FileVerdict,
    IgnoredChange,
    JobEvent,
    JobInfo,
    MetricsSummary,
    RetryState,
    TimelineEntry,
    UploadedFile,
)
from shared.runs.names import FileKind
from shared.runs.retry import RetryPolicy
from shared.runs.states import TRANSITIONS, RunState, check_transition

S = RunState
JOB_STATES = {
    "created": S.QUEUED,
    "pending": S.QUEUED,
    "queued": S.QUEUED,
    "validating_files": S.QUEUED,
    "running": S.RUNNING,
    "succeeded": S.SUCCEEDED,
    "failed": S.FAILED,
    "cancelled": S.CANCELLED,
}


@dataclass(frozen=True)
class RaisedEvent:
    """Something a receiver hears about: a move to `name` (a state) or another named happening.
    The store writes it with the record that raised it (a transactional outbox)."""

    sequence: int
    at: datetime
    name: str
    previous_state: RunState | None
    reason: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Run:
    name: str
    created_at: datetime
    updated_at: datetime
    last_progress_at: datetime
    state: RunState = S.WAITING_FOR_FILES
    timeline: list[TimelineEntry] = field(default_factory=list)
    files: dict[FileKind, FileVerdict] = field(default_factory=dict)
    config: RunConfig | None = None
    uploads: dict[FileKind, UploadedFile] = field(default_factory=dict)
    job: JobInfo | None = None
    metrics: MetricsSummary | None = None
    overfitting: Verdict | None = None
    cost_estimate_usd: float | None = None
    deployment: DeploymentInfo | None = None
    claim: Claim | None = None
    retry: RetryState | None = None
    ignored: list[IgnoredChange] = field(default_factory=list)
    failure_reason: str | None = None
    stalled: bool = False
    cancel_requested: bool = False
    event_sequence: int = 0
    """The per-run sequence number of the last event this run raised (the first is 1)."""
    evaluation: EvaluationFlag | None = None
    """Where the evaluation of the deployed model stands (`shared.evaluation`)."""
    version: str | None = field(default=None, compare=False)
    """The store's concurrency token (an ETag) of the row this record was read from."""
    raised: list[RaisedEvent] = field(default_factory=list, compare=False, repr=False)
    """Events raised since the record was read; the store saves them with it, then clears."""
    model_warnings: list[str] = field(default_factory=list)
    """What the account said about the run's model that the user should act on: a fine-tuning
    or a deployment that retires soon (`shared.pipeline.model_admission`)."""
    model_retirement_noted: str | None = None
    """The deployed model whose coming retirement was announced (once per run and model)."""
    capacity_wait: CapacityWait | None = None
    """Set while the run waits for room on the account (`shared.runs.waiting`)."""
    cleanup: FilesCleanup | None = None
    """The deletion of the run's files from the service (`shared.runs.cleanup`)."""
    account: str | None = None
    """The pool account the run was placed on when admitted (`shared.runs.placement`); every
    later step uses it. None: not placed yet (or a record from before the pool: the first)."""

    def placed_on(self, account: str, now: datetime, reason: str, announce: bool = True) -> None:
        """Places the run on a pool account (once; `shared.runs.placement`). `announce`: raise
        the `placed` event (a pool of one has no choice to announce)."""
        self.account = account
        self._touch(now)
        if announce:
            self.raise_event("placed", now, reason, data={"account": account})

    @classmethod
    def new(cls, name: str, now: datetime) -> Run:
        run = cls(name=name, created_at=now, updated_at=now, last_progress_at=now)
        run.timeline.append(TimelineEntry(now, None, S.WAITING_FOR_FILES, "first file arrived"))
        run.raise_event(S.WAITING_FOR_FILES.value, now, "first file arrived")
        return run

    def raise_event(
        self,
        name: str,
        now: datetime,
        reason: str,
        previous: RunState | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        """Records an event for receivers (see `shared.notifications.events` for the names)."""
        self.event_sequence += 1
        event = RaisedEvent(self.event_sequence, now, name, previous, reason, dict(data or {}))
        self.raised.append(event)

    # -- questions -------------------------------------------------------------------------

    @property
    def is_active(self) -> bool:
        """True while the timer has something to do or watch for this run."""
        if cleanup_pending(self):
            return True
        if self.state.terminal or self.state is S.EXPIRED:
            return False
        if self.state is S.SUCCEEDED:
            return self.deploy_wanted
        return True

    @property
    def deploy_wanted(self) -> bool:
        return self.config is not None and self.config.deploy.enabled and self.deployment is None

    def kinds_to_upload(self) -> list[FileKind]:
        """The data files the job uses: train, and validation when it passed."""
        kinds = [FileKind.TRAIN]
        verdict = self.files.get(FileKind.VALIDATION)
        if verdict is not None and verdict.valid:
            kinds.append(FileKind.VALIDATION)
        return kinds

    # -- files -----------------------------------------------------------------------------

    def knows_blob(self, kind: FileKind, etag: str) -> bool:
        """True when this version of the file was already validated or ignored."""
        verdict = self.files.get(kind)
        if verdict is not None and verdict.blob_etag == etag:
            return True
        return any(item.kind is kind and item.blob_etag == etag for item in self.ignored)

    def file_validated(
        self, kind: FileKind, verdict: FileVerdict, config: RunConfig | None = None
    ) -> None:
        """Records a file's verdict (and the parsed run.json). After the start: ignored."""
        if self.state.training_started:
            self.change_ignored(kind, verdict.blob_etag, verdict.checked_at)
            return
        self.files[kind] = verdict
        if kind is FileKind.CONFIG:
            self.config = config
        if kind is FileKind.TRAIN:
            self.cost_estimate_usd = _cost(verdict)
        self._touch(verdict.checked_at)

    def change_ignored(
        self, kind: FileKind, etag: str, now: datetime, reason: str | None = None
    ) -> None:
        """Keeps this version of a file out of the run, with a note saying why."""
        reason = reason or (
            f"{kind.value} changed after the run started ({self.state.value}); the run keeps "
            "the version it started with. Drop the files in a new folder for a new run."
        )
        self.ignored = [*self.ignored, IgnoredChange(now, kind, etag, reason)][-MAX_IGNORED:]
        self._note(now, reason)

    def start(self, now: datetime, default: RunConfig, reason: str) -> None:
        if self.config is None:
            self.config = default
        self._move(S.UPLOADING, now, reason)

    # -- upload and job --------------------------------------------------------------------

    def file_uploaded(self, kind: FileKind, uploaded: UploadedFile, now: datetime) -> None:
        self._expect(S.UPLOADING, f"record the upload of {kind.value}")
        self.uploads[kind] = uploaded
        self._step_done(now)
        if all(needed in self.uploads for needed in self.kinds_to_upload()):
            self._move(S.PROCESSING_FILES, now, "files uploaded; Azure OpenAI is processing them")

    def file_observed(self, kind: FileKind, status: str, error: str | None, now: datetime) -> None:
        uploaded = self.uploads[kind]
        if (uploaded.status, uploaded.error) != (status, error):
            uploaded.status, uploaded.error = status, error
            self._touch(now)

    def job_created(self, job_id: str, status: str, now: datetime, found: bool = False) -> None:
        self.job = JobInfo(id=job_id, status=status, created_at=now)
        self._step_done(now)
        how = "found the job an earlier attempt created" if found else "created the job"
        self._move(S.QUEUED, now, f"{how}: {job_id}")

    def job_observed(
        self,
        status: str,
        now: datetime,
        fine_tuned_model: str | None = None,
        trained_tokens: int | None = None,
        error: str | None = None,
        result_files: list[str] | None = None,
        hyperparameters: Mapping[str, int | float] | None = None,
        seed: int | None = None,
    ) -> None:
        """Applies what the service says about the job; moves the run when its status moved."""
        job = self._job()
        self._poll_answered()
        if status != job.status:
            job.status = status
            self._touch(now)
        chosen = {**job.hyperparameters, **(hyperparameters or {})}
        if chosen != job.hyperparameters:
            asked = self.config.to_dict() if self.config else {}
            used = ", ".join(f"{k} {v} (asked: {asked.get(k, 'auto')})" for k, v in chosen.items())
            self._note(now, f"the service trains with {used}")
        if chosen != job.hyperparameters or (seed is not None and seed != job.seed):
            job.hyperparameters, job.seed = chosen, seed if seed is not None else job.seed
            self._touch(now)
        job.fine_tuned_model = fine_tuned_model or job.fine_tuned_model
        job.trained_tokens = trained_tokens if trained_tokens is not None else job.trained_tokens
        job.error = error or job.error
        job.result_files = list(result_files or job.result_files)
        self._follow_job(status, now)

    def events_seen(self, events: list[JobEvent], now: datetime) -> None:
        """Adds new job events (oldest first); keeps the last few in the record."""
        job = self._job()
        known = {event.id for event in job.events}
        fresh = [event for event in events if event.id not in known]
        if fresh:
            job.events = [*job.events, *fresh][-MAX_EVENTS:]
            job.last_event_id = fresh[-1].id
            self._touch(now)

    def checkpoints_seen(self, checkpoints: list[Checkpoint], now: datetime) -> None:
        job = self._job()
        if [c.id for c in checkpoints] != [c.id for c in job.checkpoints]:
            job.checkpoints = sorted(checkpoints, key=lambda item: item.step)
            self._touch(now)

    def curves_recorded(self, summary: MetricsSummary, verdict: Verdict | None) -> None:
        self.metrics = summary
        if verdict is not None:
            self.overfitting = verdict

    # -- deployment ------------------------------------------------------------------------

    def deployment_requested(self, deployment: DeploymentInfo, now: datetime, reason: str) -> None:
        if self.job is None or not self.job.fine_tuned_model:
            raise IllegalTransition(f"run {self.name!r} has no fine-tuned model to deploy.")
        self.deployment = deployment
        self._move(S.DEPLOYING, now, reason)

    def deployment_created(
        self, model: str, state: str, created_by_tunedrop: bool, now: datetime
    ) -> None:
        deployment = self._deployment()
        deployment.model, deployment.state = model, state
        deployment.created, deployment.created_by_tunedrop = True, created_by_tunedrop
        self._step_done(now)
        who = "created" if created_by_tunedrop else "found existing (not created by Tunedrop)"
        self._note(now, f"deployment {deployment.name!r} {who}: {state}")

    def deployment_observed(self, state: str, now: datetime, error: str | None = None) -> None:
        deployment = self._deployment()
        self._poll_answered()
        if state != deployment.state:
            deployment.state = state
            self._touch(now)
        if state in ("Failed", "Canceled"):
            self.deployment_failed(
                f"deployment {deployment.name!r} ended {state}: {error or 'no reason'}", now
            )

    def deployment_serving(self, now: datetime) -> None:
        deployment = self._deployment()
        deployment.serving_at = now
        if deployment.created_by_tunedrop:
            deployment.expires_at = now + timedelta(hours=deployment.ttl_hours)
        self._step_done(now)
        expires = deployment.expires_at
        until = f" until {expires:%Y-%m-%d %H:%M} UTC" if expires else ""
        self._move(S.DEPLOYED, now, f"deployment {deployment.name!r} answers chat{until}")

    def deployment_deleted(self, now: datetime, reason: str) -> None:
        deployment = self._deployment()
        deployment.deleted_at = now
        deployment.state = "Deleted"
        self._step_done(now)
        self._move(S.EXPIRED, now, reason)

    def evaluation_changed(
        self, flag: EvaluationFlag, now: datetime, note: str = "", step_done: bool = False
    ) -> None:
        """Sets the evaluation flag; `note` records a move of the flag in the timeline.
        `step_done`: an evaluation step made progress, so its claim and retry streak end."""
        self.evaluation = flag
        if step_done:
            self.claim = None
            self.retry = None
        self.updated_at = now
        if note:
            self._note(now, note)

    # -- failures, retries, stalls ---------------------------------------------------------

    def claim_step(self, step: str, now: datetime) -> None:
        self.claim = Claim(step, now)
        self._touch(now)

    def release_claim(self, claim: Claim) -> None:
        """Gives up `claim` if the run still holds it, so the step may be tried again at once
        (every claimed step first looks for what an earlier attempt created)."""
        if self.claim == claim:
            self.claim = None

    def transient_error(
        self, step: str, message: str, retry_after: float | None, now: datetime, policy: RetryPolicy
    ) -> None:
        """Schedules another attempt of `step`, or fails the run past the policy's limit."""
        attempts = self.retry.attempts + 1 if self.retry and self.retry.step == step else 1
        if policy.gives_up(attempts):
            self.step_failed(
                step, f"{attempts} attempts in a row; last error: {message}", now, policy
            )
            return
        wait = timedelta(seconds=policy.delay(attempts, retry_after))
        self.retry = RetryState(step, attempts, now + wait, message)
        self.claim = None
        self._note(now, f"{step} will be tried again at {now + wait:%H:%M:%S}: {message}")

    def step_failed(self, step: str, message: str, now: datetime, policy: RetryPolicy) -> None:
        """A step failed for good. Before success the run fails; after it (a deployment that
        cannot be deleted, say) the run keeps its state and the step is tried again later."""
        if RunState.FAILED in TRANSITIONS[self.state]:
            self.fail(f"{step} failed: {message}", now)
            return
        if self.state is S.DEPLOYING:
            self.deployment_failed(f"{step} failed: {message}", now)
            return
        attempts = self.retry.attempts + 1 if self.retry and self.retry.step == step else 1
        later = now + timedelta(seconds=policy.max_seconds)
        self.retry = RetryState(step, attempts, later, message)
        self.claim = None
        self._note(now, f"{step} failed: {message}; trying again at {later:%H:%M:%S}")

    def fail(self, reason: str, now: datetime) -> None:
        self.failure_reason = reason
        self.claim = None
        self._move(S.FAILED, now, reason)

    def cancel(self, now: datetime, reason: str) -> None:
        self.claim = None
        self._move(S.CANCELLED, now, reason)

    def mark_stalled(self, now: datetime, minutes: float) -> None:
        self.stalled = True
        self._note(now, f"no progress for {minutes:g} minutes in state {self.state.value}")

    def deployment_failed(self, reason: str, now: datetime) -> None:
        """The deployment could not be made (or vanished): the model is kept, and the run moves
        where `POST /runs/{run}/deploy` deploys it again."""
        deployment = self._deployment()
        deployment.error = reason = reason.rstrip(".")
        self.claim = None
        self.retry = None
        self._move(
            S.EXPIRED,
            now,
            f"{reason}. The model is kept: POST /api/runs/{self.name}/deploy deploys it again "
            "(also with another sku or capacity)",
        )

    def note(self, now: datetime, reason: str) -> None:
        """Adds a note to the timeline (for the seams in `shared.runs.waiting`, `cleanup`)."""
        self._note(now, reason)

    # -- internals -------------------------------------------------------------------------

    def _follow_job(self, status: str, now: datetime) -> None:
        target = JOB_STATES.get(status)
        job = self._job()
        if target is None or target is self.state:
            return
        if target is S.FAILED:
            reason = job.error or "the service gave no reason"
            self.fail(f"the fine-tuning job failed: {reason}", now)
        elif target is S.CANCELLED:
            self.cancel(now, "the fine-tuning job was cancelled")
        elif target is S.SUCCEEDED:
            self._move(S.SUCCEEDED, now, f"training finished: {job.fine_tuned_model}")
        elif target is S.RUNNING:
            self._move(S.RUNNING, now, "the fine-tuning job is running")

    def _move(self, target: RunState, now: datetime, reason: str) -> None:
        check_transition(self.name, self.state, target)
        self._append(TimelineEntry(now, self.state, target, reason))
        self.raise_event(target.value, now, reason, previous=self.state)
        self.state = target
        self.stalled = False
        self.last_progress_at = now
        self.updated_at = now

    def _note(self, now: datetime, reason: str) -> None:
        self._append(TimelineEntry(now, self.state, self.state, reason))
        self.updated_at = now

    def _append(self, entry: TimelineEntry) -> None:
        self.timeline = [*self.timeline, entry][-MAX_TIMELINE:]

    def _touch(self, now: datetime) -> None:
        self.stalled = False
        self.last_progress_at = now
        self.updated_at = now

    def _poll_answered(self) -> None:
        """A poll got its answer: a retry streak ends, but only what the answer changed counts
        as progress, so a job queued for hours is flagged stalled and an unchanged run is not
        written again."""
        self.claim = None
        self.retry = None

    def _step_done(self, now: datetime) -> None:
        self.claim = None
        self.retry = None
        self._touch(now)

    def _expect(self, state: RunState, action: str) -> None:
        if self.state is not state:
            raise IllegalTransition(
                f"run {self.name!r} cannot {action} in state {self.state.value}."
            )

    def _job(self) -> JobInfo:
        if self.job is None:
            raise IllegalTransition(f"run {self.name!r} has no fine-tuning job yet.")
        return self.job

    def _deployment(self) -> DeploymentInfo:
        if self.deployment is None:
            raise IllegalTransition(f"run {self.name!r} has no deployment.")
        return self.deployment

    # -- what the account says about the model (shared.pipeline.model_admission) ------------

    def model_trained_from(self, model: str, now: datetime, reason: str) -> None:
        """Continuous fine-tuning: the run trains `model` (a parent run's fine-tuned model)."""
        self._expect(S.WAITING_FOR_FILES, "choose the model to train")
        if self.config is not None:
            self.config = replace(self.config, model=model)
        self._note(now, reason)

    def model_warned(self, warning: str, now: datetime) -> None:
        self.model_warnings = [*self.model_warnings, warning]
        self._note(now, f"warning: {warning}")

    def model_retiring(self, model: str, retires_at: datetime, now: datetime) -> None:
        """The deployed `model` stops answering at `retires_at`: said once, as an event too."""
        if self.model_retirement_noted == model:
            return
        warning = (
            f"the deployed model {model} retires on {retires_at:%Y-%m-%d} (the account says); "
            "after that its deployment stops answering. Train a new run on a current model."
        )
        self.model_retirement_noted = model
        self.model_warned(warning, now)
        self.raise_event(
            "model_retiring", now, warning,
            data={"model": model, "retires_at": retires_at.isoformat()},
        )  # fmt: skip


def cleanup_pending(run: Run) -> bool:
    """The run's files on the service still wait for their deletion (`shared.runs.cleanup`)."""
    from shared.runs.cleanup import pending  # the clean-up rules live in their own module

    return pending(run)


def _cost(verdict: FileVerdict) -> float | None:
    cost = verdict.stats.get("estimated_training_cost_usd") if verdict.stats else None
    return float(cost) if isinstance(cost, int | float) else None
