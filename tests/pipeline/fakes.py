"""In-memory doubles of every adapter role, with the faults the tests inject."""

from __future__ import annotations

import copy
import itertools
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.errors import ConcurrentUpdate, DeploymentNotReady, NotFound
from shared.notifications.service import Notifier
from shared.notifications.settings import NotificationSettings
from shared.pipeline.protocols import (
    BlobInfo,
    ChatReply,
    JobSpec,
    RemoteDeployment,
    RemoteFile,
    RemoteJob,
    RunPage,
    RunSummary,
    UploadSource,
)
from shared.pipeline.services import Services
from shared.runs.codec import run_from_dict, run_to_dict
from shared.runs.config import RunDefaults
from shared.runs.curves import LossPoint
from shared.runs.facts import Checkpoint, JobEvent
from shared.runs.plan import RunPolicy
from shared.runs.record import RaisedEvent, Run
from shared.runs.retry import RetryPolicy
from shared.runs.states import RunState

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


class Faults:
    """Errors queued per method name: the next call of that method raises the first one."""

    def __init__(self) -> None:
        self.queued: dict[str, list[BaseException]] = {}
        self.calls: Counter[str] = Counter()

    def add(self, method: str, *errors: BaseException) -> None:
        self.queued.setdefault(method, []).extend(errors)

    def check(self, method: str) -> None:
        self.calls[method] += 1
        if self.queued.get(method):
            raise self.queued[method].pop(0)


class FakeRunStore:
    """Stores runs as the codec's data, so every test also proves the record round-trips."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[dict[str, Any], int]] = {}
        self.curves: dict[str, list[LossPoint]] = {}
        self.faults = Faults()
        self.versions = itertools.count(1)
        self.reads = 0
        self.events: list[tuple[str, RaisedEvent]] = []
        """Every event saved with a run (the outbox), in the order saved."""

    def find(self, name: str) -> Run | None:
        self.reads += 1
        if name not in self.rows:
            return None
        data, version = self.rows[name]
        return run_from_dict(copy.deepcopy(data), str(version))

    def unchanged(self, name: str, version: str) -> Run | None:
        run = self.find(name)
        return run if run is not None and run.version == version else None

    def add(self, run: Run) -> None:
        self.faults.check("add")
        if run.name in self.rows:
            raise ConcurrentUpdate(f"run {run.name!r} already exists")
        self._write(run)

    def save(self, run: Run) -> None:
        self.faults.check("save")
        _, version = self.rows[run.name]
        if run.version != str(version):
            raise ConcurrentUpdate(f"run {run.name!r} changed since it was read")
        self._write(run)

    def _write(self, run: Run) -> None:
        version = next(self.versions)
        self.rows[run.name] = (run_to_dict(run), version)
        self.events += [(run.name, raised) for raised in run.raised]
        run.raised.clear()
        run.version = str(version)

    def active(self) -> Iterator[Run]:
        for name in list(self.rows):
            run = self.find(name)
            if run is not None and run.is_active:
                yield run

    def page(self, state: RunState | None, page_size: int, continuation: str | None) -> RunPage:
        runs = [run for name in self.rows if (run := self.find(name)) is not None]
        runs = [run for run in runs if state is None or run.state is state]
        runs.sort(key=lambda run: run.created_at, reverse=True)
        start = int(continuation or 0)
        chosen = runs[start : start + page_size]
        more = str(start + page_size) if start + page_size < len(runs) else None
        return RunPage(
            [RunSummary(r.name, r.state, r.created_at, r.updated_at) for r in chosen], more
        )

    def save_points(self, name: str, points: Sequence[LossPoint]) -> None:
        self.curves[name] = list(points)

    def points(self, name: str) -> list[LossPoint]:
        return list(self.curves.get(name, []))

    def get(self, name: str) -> Run:
        run = self.find(name)
        assert run is not None
        return run


class FakeInboxFiles:
    def __init__(self, chunk_size: int = 64) -> None:
        self.blobs: dict[str, tuple[bytes, str]] = {}
        self.etags = itertools.count(1)
        self.chunk_size = chunk_size

    def put(self, name: str, data: bytes) -> str:
        etag = f'"0x{next(self.etags):04X}"'
        self.blobs[name] = (data, etag)
        return etag

    def info(self, blob_name: str) -> BlobInfo | None:
        if blob_name not in self.blobs:
            return None
        data, etag = self.blobs[blob_name]
        return BlobInfo(blob_name, etag, len(data))

    def chunks(self, blob_name: str, etag: str) -> Iterator[bytes]:
        if blob_name not in self.blobs:
            raise NotFound(f"blob {blob_name!r} does not exist")
        data, current = self.blobs[blob_name]
        if current != etag:
            raise ConcurrentUpdate(f"blob {blob_name!r} changed")
        for start in range(0, len(data), self.chunk_size):
            yield data[start : start + self.chunk_size]

    def read_url(self, blob_name: str, valid_for: timedelta) -> str:
        return f"https://fake.blob/{blob_name}?sig=fake"


class FakeReportStore:
    def __init__(self) -> None:
        self.reports: dict[str, Mapping[str, Any]] = {}

    def write(self, path: str, report: Mapping[str, Any]) -> None:
        self.reports[path] = copy.deepcopy(dict(report))


class FakeFineTuning:
    """Files are processed after `processing_polls` reads; a job walks through `job_statuses`,
    one status per `get_job`, and succeeds with a results file unless told to fail."""

    def __init__(self) -> None:
        self.files: dict[str, RemoteFile] = {}
        self.contents: dict[str, bytes] = {}
        self.jobs: dict[str, RemoteJob] = {}
        self.specs: dict[str, JobSpec] = {}
        self.job_statuses = ["running", "running", "succeeded"]
        self.max_events = 10**9  # a job says one new thing per poll, up to this many
        self.job_error: str | None = None
        self.file_error: str | None = None
        self.processing_polls = 1
        self.file_polls: Counter[str] = Counter()
        self.job_polls: Counter[str] = Counter()
        self.faults = Faults()
        self.ids = itertools.count(1)
        self.uploads = 0
        self.deleted: set[str] = set()
        self.results_csv = (
            "step,train_loss,train_mean_token_accuracy,valid_loss,valid_mean_token_accuracy\n"
            "1,2.0,0.4,2.1,0.4\n2,1.5,0.5,1.8,0.5\n3,1.0,0.6,1.7,0.55\n4,0.8,0.7,1.75,0.56\n"
        )

    def find_file(self, filename: str) -> RemoteFile | None:
        self.faults.check("find_file")
        for remote in self.files.values():
            if remote.filename == filename and remote.status not in ("error", "deleted"):
                return remote
        return None

    def upload_file(self, source: UploadSource) -> RemoteFile:
        self.faults.check("upload_file")
        file_id = f"file-{next(self.ids)}"
        self.contents[file_id] = b"".join(source.chunks())
        remote = RemoteFile(file_id, source.filename, "pending", None, T0)
        self.files[file_id] = remote
        self.uploads += 1
        return remote

    def get_file(self, file_id: str) -> RemoteFile:
        self.faults.check("get_file")
        self.file_polls[file_id] += 1
        remote = self.files[file_id]
        if self.file_polls[file_id] >= self.processing_polls:
            status = "error" if self.file_error else "processed"
            remote = RemoteFile(remote.id, remote.filename, status, self.file_error, T0)
            self.files[file_id] = remote
        return remote

    def find_job(self, training_file_id: str) -> RemoteJob | None:
        self.faults.check("find_job")
        for job in self.jobs.values():
            if job.training_file == training_file_id:
                return job
        return None

    def create_job(self, spec: JobSpec) -> RemoteJob:
        self.faults.check("create_job")
        job_id = f"ftjob-{next(self.ids)}"
        self.jobs[job_id] = RemoteJob(job_id, "pending", spec.training_file, T0)
        self.specs[job_id] = spec
        self.faults.check("after_create_job")
        return self.jobs[job_id]

    @property
    def jobs_created(self) -> int:
        return len(self.jobs)

    def get_job(self, job_id: str) -> RemoteJob:
        self.faults.check("get_job")
        job = self.jobs[job_id]
        if job.status in ("succeeded", "failed", "cancelled"):
            return job
        index = min(self.job_polls[job_id], len(self.job_statuses) - 1)
        self.job_polls[job_id] += 1
        status = self.job_statuses[index]
        if status == "succeeded" and self.job_error:
            status = "failed"
        chosen = {"n_epochs": 3, "batch_size": 1, "learning_rate_multiplier": 0.1}
        spec = self.specs.get(job_id)
        chosen |= dict(spec.hyperparameters) if spec else {}
        seed = (spec.seed if spec else None) or 1234
        if status == "succeeded":
            job = RemoteJob(
                job.id, status, job.training_file, job.created_at,
                fine_tuned_model=f"gpt-4o-mini-2024-07-18.ft-{job.id}",
                trained_tokens=1234, result_files=("file-results",),
                hyperparameters=chosen, seed=seed,
            )  # fmt: skip
        elif status == "running":
            job = RemoteJob(
                job.id, status, job.training_file, job.created_at, hyperparameters=chosen, seed=seed
            )
        elif status == "failed":
            job = RemoteJob(job.id, status, job.training_file, job.created_at, error=self.job_error)
        else:
            job = RemoteJob(job.id, status, job.training_file, job.created_at)
        self.jobs[job_id] = job
        return job

    def job_events(self, job_id: str, after: str | None) -> list[JobEvent]:
        self.faults.check("job_events")
        count = min(self.job_polls[job_id], self.max_events)
        events = [JobEvent(f"ev-{i}", T0, "info", f"step {i}") for i in range(1, count + 1)]
        if after is None:
            return events
        ids = [event.id for event in events]
        return events[ids.index(after) + 1 :] if after in ids else events

    def job_checkpoints(self, job_id: str) -> list[Checkpoint]:
        self.faults.check("job_checkpoints")
        return [Checkpoint("ckpt-1", 2, "m:ckpt-step-2", {"train_loss": 1.5, "valid_loss": 1.8})]

    def results(self, file_id: str) -> str:
        self.faults.check("results")
        return self.results_csv

    def cancel_job(self, job_id: str) -> RemoteJob:
        self.faults.check("cancel_job")
        job = self.jobs[job_id]
        self.jobs[job_id] = RemoteJob(job.id, "cancelled", job.training_file, job.created_at)
        return self.jobs[job_id]

    def list_files(self) -> list[RemoteFile]:
        self.faults.check("list_files")
        results = [RemoteFile(f, "results.csv", "processed") for f in self.visible_results()]
        return [*self.files.values(), *results]

    def visible_results(self) -> list[str]:
        return sorted(
            {name for job in self.jobs.values() for name in job.result_files} - self.deleted
        )

    def list_jobs(self) -> list[RemoteJob]:
        self.faults.check("list_jobs")
        return list(self.jobs.values())

    def delete_file(self, file_id: str) -> None:
        self.faults.check("delete_file")
        self.deleted.add(file_id)
        self.files.pop(file_id, None)


class FakeDeployments:
    """A created deployment reports Creating for `creating_polls` reads, then Succeeded."""

    def __init__(self) -> None:
        self.deployments: dict[str, RemoteDeployment] = {}
        self.creates: Counter[str] = Counter()
        self.deletes: list[str] = []
        self.polls: Counter[str] = Counter()
        self.creating_polls = 1
        self.faults = Faults()
        self.sources: dict[str, str | None] = {}
        """The `source` account each deployment named (cross-region deployment)."""

    def get(self, name: str) -> RemoteDeployment | None:
        self.faults.check("get")
        remote = self.deployments.get(name)
        if remote is None:
            return None
        self.polls[name] += 1
        if remote.state == "Creating" and self.polls[name] > self.creating_polls:
            remote = RemoteDeployment(name, remote.model, "Succeeded", remote.tags)
            self.deployments[name] = remote
        return remote

    def create(
        self,
        name: str,
        model: str,
        sku: str,
        capacity: int,
        tags: Mapping[str, str],
        source: str | None = None,
    ) -> RemoteDeployment:
        self.faults.check("create")
        self.creates[name] += 1
        self.sources[name] = source
        self.deployments[name] = RemoteDeployment(name, model, "Creating", dict(tags))
        return self.deployments[name]

    def delete(self, name: str) -> None:
        self.faults.check("delete")
        self.deletes.append(name)
        self.deployments.pop(name, None)

    def list_all(self) -> list[RemoteDeployment]:
        self.faults.check("list")
        return list(self.deployments.values())


class FakeChat:
    """A deployment answers DeploymentNotReady for its first `not_ready_calls` calls."""

    def __init__(self, not_ready_calls: int = 1) -> None:
        self.not_ready_calls = not_ready_calls
        self.calls: Counter[str] = Counter()
        self.faults = Faults()

    def complete(
        self, deployment: str, messages: Sequence[Mapping[str, Any]], max_tokens: int
    ) -> ChatReply:
        self.faults.check("complete")
        self.calls[deployment] += 1
        if self.calls[deployment] <= self.not_ready_calls:
            raise DeploymentNotReady(f"deployment {deployment!r} is not ready")
        last = messages[-1]["content"]
        return ChatReply(f"[{deployment}] {last} ({max_tokens})", deployment, {"total_tokens": 3})


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def fake_services(**overrides: Any) -> Services:
    policy = RunPolicy(
        defaults=RunDefaults("gpt-4o-mini-2024-07-18"),
        settle_seconds=60,
        stalled_after_minutes=120,
        claim_lease_seconds=300,
        retry=RetryPolicy(base_seconds=30, max_seconds=900, max_attempts=4),
    )
    values: dict[str, Any] = {
        "runs": FakeRunStore(),
        "inbox": FakeInboxFiles(),
        "reports": FakeReportStore(),
        "fine_tuning": FakeFineTuning(),
        "deployments": FakeDeployments(),
        "chat": FakeChat(),
        "policy": policy,
        "clock": Clock(),
        "base_deployment": "gpt-4o-mini",
        "max_chat_tokens": 100,
    }
    values["notifier"] = fake_notifier(values["clock"])
    values.update(overrides)
    return Services(**values)


def fake_notifier(clock: Any) -> Notifier:
    """Run events on in-memory doubles: no endpoint, nothing sent."""
    from tests.notifications.fakes import FakeDeliveryQueue, FakeEventStore, FakeSender

    return Notifier(
        events=FakeEventStore(),
        queue=FakeDeliveryQueue(),
        webhooks=FakeSender(),
        event_grid=None,
        settings=NotificationSettings(),
        clock=clock,
    )
