"""The roles the service layer needs from the outside world, as small Protocols.

Real implementations live in `shared.adapters` and are named by technology (`TableRunStore`,
`BlobInboxFiles`, `AzureOpenAIFineTuning`, `ArmDeployments`, ...); tests use `Fake*` doubles.
Every method raises only `shared.errors` types: `TransientServiceError` when trying again later
may work, `PermanentServiceError`, `NotFound` or `ConcurrentUpdate` otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from shared.runs.curves import LossPoint
from shared.runs.facts import Checkpoint, JobEvent
from shared.runs.record import Run
from shared.runs.states import RunState

# -- storage -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunSummary:
    """One line of a run listing."""

    name: str
    state: RunState
    created_at: datetime
    updated_at: datetime
    stalled: bool = False
    fine_tuned_model: str | None = None
    deployment: str | None = None
    account: str | None = None
    deployment_account: str | None = None
    """Where the deployment is, when it is another pool account than `account`."""


@dataclass(frozen=True)
class RunPage:
    runs: list[RunSummary]
    continuation: str | None = None


class RunStore(Protocol):
    """Run records with optimistic concurrency: `save` fails if the record changed since read."""

    def find(self, name: str) -> Run | None:
        """The run called `name`, with its `version` set; None if there is none."""
        ...

    def add(self, run: Run) -> None:
        """Stores a new run; raises `ConcurrentUpdate` if one of that name exists."""
        ...

    def save(self, run: Run) -> None:
        """Stores `run` if nobody saved it since it was read (`run.version`), then updates
        `run.version`; raises `ConcurrentUpdate` otherwise."""
        ...

    def active(self) -> Iterator[Run]:
        """Every active run (see `Run.is_active`); never reads finished runs."""
        ...

    def page(self, state: RunState | None, page_size: int, continuation: str | None) -> RunPage:
        """Runs newest first, optionally only those in `state`."""
        ...

    def save_points(self, name: str, points: Sequence[LossPoint]) -> None:
        """Replaces the loss curve points of a run (kept outside the run record)."""
        ...

    def points(self, name: str) -> list[LossPoint]: ...

    def unchanged(self, name: str, version: str) -> Run | None:
        """The run, if nobody saved it since it was read at `version`; None if it changed since
        or is gone (what a queued run is checked with, `shared.pipeline.fan_out`)."""
        ...


@dataclass(frozen=True)
class BlobInfo:
    name: str
    etag: str
    size: int


class InboxFiles(Protocol):
    """Reads the inbox container; never writes to it."""

    def info(self, blob_name: str) -> BlobInfo | None:
        """The blob's current ETag and size; None if it does not exist."""
        ...

    def chunks(self, blob_name: str, etag: str) -> Iterator[bytes]:
        """The blob's content, chunk by chunk, of exactly version `etag` (raises
        `ConcurrentUpdate` when the blob changed, `NotFound` when it is gone)."""
        ...

    def read_url(self, blob_name: str, valid_for: timedelta) -> str:
        """A read-only SAS URL of the blob that expires after `valid_for`."""
        ...


class ReportStore(Protocol):
    """Writes JSON reports to the reports container."""

    def write(self, path: str, report: Mapping[str, Any]) -> None: ...


# -- Azure OpenAI --------------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadSource:
    """A run file to upload, read only when the adapter decides how to send it."""

    filename: str
    size: int
    chunks: Callable[[], Iterator[bytes]]
    read_url: Callable[[], str]


@dataclass(frozen=True)
class RemoteFile:
    id: str
    filename: str
    status: str
    error: str | None = None
    created_at: datetime | None = None
    bytes: int = 0


@dataclass(frozen=True)
class JobSpec:
    model: str
    training_file: str
    validation_file: str | None = None
    hyperparameters: Mapping[str, int | float] = field(default_factory=dict)
    suffix: str | None = None
    seed: int | None = None
    training_type: str | None = None
    """standard, global or developer (the service's trainingType); None: not sent."""


@dataclass(frozen=True)
class RemoteJob:
    id: str
    status: str
    training_file: str
    created_at: datetime | None = None
    fine_tuned_model: str | None = None
    trained_tokens: int | None = None
    error: str | None = None
    result_files: tuple[str, ...] = ()
    hyperparameters: Mapping[str, int | float] = field(default_factory=dict)
    """The values the service chose (or was given); a value not yet chosen is left out."""
    seed: int | None = None


class FineTuning(Protocol):
    """Azure OpenAI files and fine-tuning jobs."""

    def find_file(self, filename: str) -> RemoteFile | None:
        """A fine-tune file of that exact name that is not deleted or in error, if any."""
        ...

    def upload_file(self, source: UploadSource) -> RemoteFile: ...

    def get_file(self, file_id: str) -> RemoteFile: ...

    def find_job(self, training_file_id: str) -> RemoteJob | None:
        """The job created with that training file, if any (newest first)."""
        ...

    def create_job(self, spec: JobSpec) -> RemoteJob: ...

    def get_job(self, job_id: str) -> RemoteJob: ...

    def job_events(self, job_id: str, after: str | None) -> list[JobEvent]:
        """Events newer than the event `after` (all when None), oldest first."""
        ...

    def job_checkpoints(self, job_id: str) -> list[Checkpoint]: ...

    def results(self, file_id: str) -> str:
        """The text of a results file (the CSV of per-step metrics)."""
        ...

    def cancel_job(self, job_id: str) -> RemoteJob: ...

    def list_files(self) -> list[RemoteFile]:
        """Every fine-tuning file on the account (purposes fine-tune and fine-tune-results),
        whoever uploaded it: what counts toward the account's file limits."""
        ...

    def list_jobs(self) -> list[RemoteJob]:
        """Every fine-tuning job the account holds, whoever created it."""
        ...

    def delete_file(self, file_id: str) -> None:
        """Deletes a file; one that is already gone is not an error."""
        ...


# -- deployments and chat ------------------------------------------------------------------------


@dataclass(frozen=True)
class RemoteDeployment:
    name: str
    model: str
    state: str
    """ARM provisioningState: Accepted, Creating, Succeeded, Failed, Deleting, ..."""
    tags: Mapping[str, str] = field(default_factory=dict)
    error: str | None = None


class Deployments(Protocol):
    """Model deployments of the Azure OpenAI account (ARM)."""

    def get(self, name: str) -> RemoteDeployment | None: ...

    def create(
        self,
        name: str,
        model: str,
        sku: str,
        capacity: int,
        tags: Mapping[str, str],
        source: str | None = None,
    ) -> RemoteDeployment:
        """Starts creating the deployment (the long-running operation is followed by `get`).
        `source`: the ARM id of the account that trained `model`, when it is another one
        (cross-region deployment)."""
        ...

    def delete(self, name: str) -> None:
        """Deletes the deployment; a deployment that is already gone is not an error."""
        ...

    def list_all(self) -> list[RemoteDeployment]:
        """Every deployment of the account, whoever created it."""
        ...


@dataclass(frozen=True)
class ChatReply:
    reply: str
    model: str
    usage: Mapping[str, int] = field(default_factory=dict)


class Chat(Protocol):
    """Chat completions on a deployment."""

    def complete(
        self, deployment: str, messages: Sequence[Mapping[str, Any]], max_tokens: int
    ) -> ChatReply:
        """Raises `DeploymentNotReady` while the deployment does not serve yet."""
        ...


class ModelEvaluation(Protocol):
    """The evaluation of deployed models, as the step that carries it out sees it (the
    evaluation sits above the pipeline: its kit is handed in, never imported)."""

    def advance(self, run: Run, services: Any, now: datetime) -> None:
        """Starts, continues or finishes the run's evaluation (`services` is the `Services`
        the step runs with); raises `TransientServiceError` when a call must wait."""
        ...
