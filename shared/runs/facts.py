"""The parts of a run record: what Tunedrop learned about files, the job and the deployment.

Plain dataclasses without behaviour; `record.Run` changes them through its domain methods.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.runs.names import FileKind
from shared.runs.states import RunState

MAX_EVENTS = 20
MAX_IGNORED = 20
MAX_TIMELINE = 100


@dataclass
class TimelineEntry:
    """One line of a run's history: a move between states, or a note (from == to)."""

    at: datetime
    from_state: RunState | None
    to_state: RunState
    reason: str


@dataclass
class FileVerdict:
    """The validation verdict of one run file, for one version (ETag) of its blob."""

    blob_etag: str
    valid: bool
    report_path: str
    summary: str
    checked_at: datetime
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass
class IgnoredChange:
    """A run file that changed or arrived after the run started: kept out of the run."""

    at: datetime
    kind: FileKind
    blob_etag: str
    reason: str


@dataclass
class UploadedFile:
    """A run file as Azure OpenAI holds it."""

    file_id: str
    filename: str
    status: str
    error: str | None = None


@dataclass
class JobEvent:
    id: str
    at: datetime
    level: str
    message: str


@dataclass
class Checkpoint:
    id: str
    step: int
    model: str
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass
class JobInfo:
    """The fine-tuning job of a run, as last observed."""

    id: str
    status: str
    created_at: datetime
    fine_tuned_model: str | None = None
    trained_tokens: int | None = None
    error: str | None = None
    result_files: list[str] = field(default_factory=list)
    events: list[JobEvent] = field(default_factory=list)
    last_event_id: str | None = None
    checkpoints: list[Checkpoint] = field(default_factory=list)
    hyperparameters: dict[str, int | float] = field(default_factory=dict)
    """The values the service used (run.json's "auto" resolved), once the job reports them."""
    seed: int | None = None


@dataclass
class MetricsSummary:
    """A few figures of the loss curves; the points themselves live outside the run record."""

    points: int
    last_step: int | None = None
    final_train_loss: float | None = None
    final_valid_loss: float | None = None


@dataclass
class DeploymentInfo:
    """The deployment of a run's fine-tuned model."""

    name: str
    sku: str
    capacity: int
    ttl_hours: float
    requested_at: datetime
    model: str | None = None
    state: str = "requested"
    created: bool = False
    created_by_tunedrop: bool = False
    serving_at: datetime | None = None
    expires_at: datetime | None = None
    deleted_at: datetime | None = None
    teardown_requested: bool = False
    checkpoint: str = "final"
    """What run.json asked to deploy (`deploy.checkpoint`); `model` is what that chose."""
    checkpoint_step: int | None = None
    chosen_because: str | None = None
    error: str | None = None
    """Why the deployment failed or vanished (the run can be deployed again)."""
    checked_at: datetime | None = None
    """When a deployed run last read its deployment back through ARM."""
    account: str | None = None
    """The pool account the deployment is on when it is not the run's own (deployed across
    accounts, `shared.runs.cross_account`); None: the run's account."""


@dataclass
class Claim:
    """A tick has saved that it is about to make a paid or creating call (upload, job, deploy).

    Other ticks leave the run alone until the lease ends; whoever acts after a claim first looks
    for what an earlier, crashed attempt may already have created.
    """

    step: str
    at: datetime


@dataclass
class RetryState:
    """Consecutive transient failures of one step."""

    step: str
    attempts: int
    next_attempt_at: datetime
    last_error: str


@dataclass
class CapacityWait:
    """The run waits for room on the shared account (`shared.runs.admission`)."""

    need: str
    """"training" (files and a job) or "deployment" (a deployment slot)."""
    since: datetime
    """When the run became ready: waiting runs are served in this order."""
    reason: str
    """What it waits for now, e.g. "waiting for a deployment slot: 10 of 10 in use, 2 runs
    ahead"."""
    refusals: int = 0
    """Refusals for a full quota since it last got room (they never fail the run)."""


@dataclass
class FilesCleanup:
    """Deleting the run's files from Azure OpenAI once its job ended (`shared.runs.cleanup`)."""

    due_at: datetime | None
    """When they go; None: kept for ever (KEEP_SERVICE_FILES_HOURS=forever)."""
    deleted: list[str] = field(default_factory=list)
    """The ids deleted so far."""
    done: bool = False
