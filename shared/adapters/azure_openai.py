"""`AzureOpenAIFineTuning` and `AzureOpenAIChat`: the Azure OpenAI data plane via `openai`.

The client is built by `shared.bootstrap` (`openai.AzureOpenAI` with an API key or an Entra ID
token provider); these classes only call it and translate its errors.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import openai
from openai.types import FileObject
from openai.types.chat import ChatCompletion
from openai.types.fine_tuning import FineTuningJob

from shared.adapters.chunk_reader import ChunkReader
from shared.adapters.openai_errors import openai_errors
from shared.errors import NotFound
from shared.pipeline.protocols import ChatReply, JobSpec, RemoteFile, RemoteJob, UploadSource
from shared.runs.facts import Checkpoint, JobEvent

logger = logging.getLogger(__name__)

# Files above this size go through /files/import from a read-only SAS URL, so the function never
# streams hundreds of megabytes itself; smaller ones are streamed from the blob as multipart.
IMPORT_THRESHOLD_BYTES = 100 * 1024 * 1024
UNUSABLE_FILE_STATES = frozenset({"error", "deleting", "deleted"})
COUNTED_PURPOSES = frozenset({"fine-tune", "fine-tune-results"})
# `trainingType` is taken from api-version 2025-04-01-preview on (Azure OpenAI fine-tuning,
# "training type"); the job's create call uses that version when the app's is older.
TRAINING_TYPE_API_VERSION = "2025-04-01-preview"
TRAINING_TYPES = {"standard": "Standard", "global": "GlobalStandard", "developer": "Developer"}
LIST_PAGE = 100
JOB_PAGE = 50
MAX_JOB_PAGES = 20


class AzureOpenAIFineTuning:
    """`FineTuning` on Azure OpenAI."""

    def __init__(
        self, client: openai.AzureOpenAI, import_threshold_bytes: int = IMPORT_THRESHOLD_BYTES
    ) -> None:
        self._client = client
        self._import_threshold = import_threshold_bytes

    def find_file(self, filename: str) -> RemoteFile | None:
        with openai_errors(f"listing files to find {filename!r}"):
            for item in self._client.files.list(purpose="fine-tune"):
                if item.filename == filename and item.status not in UNUSABLE_FILE_STATES:
                    return _file(item)
        return None

    def upload_file(self, source: UploadSource) -> RemoteFile:
        what = f"uploading {source.filename!r}"
        # No client retry: a half-sent stream cannot be replayed; the timer retries the step.
        client = self._client.with_options(max_retries=0)
        with openai_errors(what):
            if source.size > self._import_threshold:
                body = {
                    "purpose": "fine-tune",
                    "filename": source.filename,
                    "content_url": source.read_url(),
                }
                item = client.post("/files/import", body=body, cast_to=FileObject)
            else:
                stream = ChunkReader(source.chunks(), source.size)
                item = client.files.create(
                    file=(source.filename, stream, "application/jsonl"), purpose="fine-tune"
                )
        return _file(item)

    def get_file(self, file_id: str) -> RemoteFile:
        with openai_errors(f"reading file {file_id}"):
            return _file(self._client.files.retrieve(file_id))

    def find_job(self, training_file_id: str) -> RemoteJob | None:
        """Jobs come newest first; a job of this file cannot be older than the file, so the
        search stops there (or after `MAX_JOB_PAGES` pages)."""
        with openai_errors(f"looking for the job of {training_file_id}"):
            created = self._client.files.retrieve(training_file_id).created_at
            page = self._client.fine_tuning.jobs.list(limit=JOB_PAGE)
            for _ in range(MAX_JOB_PAGES):
                for job in page.data:
                    if job.training_file == training_file_id:
                        return _job(job)
                    if job.created_at and job.created_at < created:
                        return None
                if not page.has_next_page():
                    return None
                page = page.get_next_page()
        return None

    def create_job(self, spec: JobSpec) -> RemoteJob:
        arguments: dict[str, Any] = {"model": spec.model, "training_file": spec.training_file}
        if spec.validation_file:
            arguments["validation_file"] = spec.validation_file
        if spec.hyperparameters:
            arguments["hyperparameters"] = dict(spec.hyperparameters)
        if spec.suffix:
            arguments["suffix"] = spec.suffix
        if spec.seed is not None:
            arguments["seed"] = spec.seed
        if spec.training_type:
            arguments["extra_body"] = {"trainingType": TRAINING_TYPES[spec.training_type]}
            configured = str(getattr(self._client, "_api_version", "") or "")
            if configured < TRAINING_TYPE_API_VERSION:
                arguments["extra_query"] = {"api-version": TRAINING_TYPE_API_VERSION}
        # No client retry: a retried POST after a lost answer could create a second job.
        with openai_errors("creating the fine-tuning job"):
            job = self._client.with_options(max_retries=0).fine_tuning.jobs.create(**arguments)
        return _job(job)

    def get_job(self, job_id: str) -> RemoteJob:
        with openai_errors(f"reading job {job_id}"):
            return _job(self._client.fine_tuning.jobs.retrieve(job_id))

    def job_events(self, job_id: str, after: str | None) -> list[JobEvent]:
        events: list[JobEvent] = []
        with openai_errors(f"reading the events of job {job_id}"):
            # Events come newest first; read back until the last one already seen.
            for event in self._client.fine_tuning.jobs.list_events(job_id, limit=100):
                if event.id == after:
                    break
                events.append(
                    JobEvent(event.id, _time(event.created_at), event.level, event.message)
                )
        return events[::-1]

    def job_checkpoints(self, job_id: str) -> list[Checkpoint]:
        with openai_errors(f"reading the checkpoints of job {job_id}"):
            items = self._client.fine_tuning.jobs.checkpoints.list(job_id, limit=100)
            return [
                Checkpoint(
                    item.id,
                    item.step_number,
                    item.fine_tuned_model_checkpoint,
                    {
                        key: float(value)
                        for key, value in item.metrics.model_dump(exclude_none=True).items()
                        if isinstance(value, int | float)
                    },
                )
                for item in items
            ]

    def results(self, file_id: str) -> str:
        with openai_errors(f"reading results file {file_id}"):
            return self._client.files.content(file_id).text

    def cancel_job(self, job_id: str) -> RemoteJob:
        with openai_errors(f"cancelling job {job_id}"):
            return _job(self._client.fine_tuning.jobs.cancel(job_id))

    def list_files(self) -> list[RemoteFile]:
        with openai_errors("listing the account's files"):
            return [
                _file(item)
                for item in self._client.files.list()
                if item.purpose in COUNTED_PURPOSES and item.status not in ("deleting", "deleted")
            ]

    def list_jobs(self) -> list[RemoteJob]:
        # Every page: the account holds at most 100 jobs (Azure OpenAI quotas and limits).
        with openai_errors("listing the account's fine-tuning jobs"):
            return [_job(job) for job in self._client.fine_tuning.jobs.list(limit=LIST_PAGE)]

    def delete_file(self, file_id: str) -> None:
        try:
            with openai_errors(f"deleting file {file_id}"):
                self._client.files.delete(file_id)
        except NotFound:
            return


class AzureOpenAIChat:
    """`Chat` on Azure OpenAI deployments."""

    def __init__(self, client: openai.AzureOpenAI) -> None:
        self._client = client

    def complete(
        self, deployment: str, messages: Sequence[Mapping[str, Any]], max_tokens: int
    ) -> ChatReply:
        with openai_errors(f"chatting with deployment {deployment!r}"):
            answer = self._client.chat.completions.create(
                model=deployment,
                messages=[dict(message) for message in messages],  # type: ignore[misc]
                max_tokens=max_tokens,
            )
        return chat_reply(answer)


def chat_reply(answer: ChatCompletion) -> ChatReply:
    """The reply, the model that answered and the token counts of a chat completion."""
    reply = answer.choices[0].message.content if answer.choices else None
    usage = answer.usage.model_dump(exclude_none=True) if answer.usage else {}
    return ChatReply(
        reply or "",
        answer.model,
        {key: value for key, value in usage.items() if isinstance(value, int)},
    )


def _file(item: FileObject) -> RemoteFile:
    return RemoteFile(
        id=item.id,
        filename=item.filename,
        status=item.status,
        error=item.status_details,
        created_at=_time(item.created_at) if item.created_at else None,
        bytes=item.bytes or 0,
    )


def _job(job: FineTuningJob) -> RemoteJob:
    error = None
    if job.error is not None and (job.error.message or job.error.code):
        error = job.error.message or job.error.code
    return RemoteJob(
        id=job.id,
        status=job.status,
        training_file=job.training_file,
        created_at=_time(job.created_at) if job.created_at else None,
        fine_tuned_model=job.fine_tuned_model,
        trained_tokens=job.trained_tokens,
        error=error,
        result_files=tuple(job.result_files or ()),
        hyperparameters=_chosen(job.hyperparameters.model_dump() if job.hyperparameters else {}),
        seed=job.seed if isinstance(job.seed, int) else None,
    )


def _chosen(hyperparameters: Mapping[str, Any]) -> dict[str, int | float]:
    """The hyperparameters the job has settled: the service answers "auto" (OpenAI) or -1
    (Azure OpenAI, as its example of a created job shows) until training starts."""
    return {
        key: value
        for key, value in hyperparameters.items()
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0
    }


def _time(seconds: int | float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
