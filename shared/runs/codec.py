"""The run record as plain JSON-ready data, and back: what a store writes and reads.

Times are ISO 8601 strings in UTC; enums are their values. A field missing from stored data takes
its default, so records written by an older version still load.
"""

from __future__ import annotations

from dataclasses import asdict, fields, is_dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from shared.runs.config import RunConfig
from shared.runs.curves import Verdict
from shared.runs.evaluation_flag import EvaluationFlag
from shared.runs.facts import (
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
from shared.runs.record import Run
from shared.runs.states import RunState

FORMAT = 1


def run_to_dict(run: Run) -> dict[str, Any]:
    """The record as JSON-ready data (without its store version)."""
    data = {item.name: _plain(getattr(run, item.name)) for item in fields(run)}
    data.pop("version")
    data.pop("raised")  # written by the store as outbox rows, not in the record
    data["format"] = FORMAT
    return data


def run_from_dict(data: dict[str, Any], version: str | None = None) -> Run:
    """The record that `run_to_dict` wrote."""
    job = data.get("job")
    deployment = data.get("deployment")
    return Run(
        name=data["name"],
        created_at=_time(data["created_at"]),
        updated_at=_time(data["updated_at"]),
        last_progress_at=_time(data["last_progress_at"]),
        state=RunState(data["state"]),
        timeline=[
            TimelineEntry(
                _time(item["at"]),
                RunState(item["from_state"]) if item["from_state"] else None,
                RunState(item["to_state"]),
                item["reason"],
            )
            for item in data.get("timeline", [])
        ],
        files={
            FileKind(kind): _load(FileVerdict, item, "checked_at")
            for kind, item in data.get("files", {}).items()
        },
        config=RunConfig.from_dict(data["config"]) if data.get("config") else None,
        uploads={
            FileKind(kind): UploadedFile(**item) for kind, item in data.get("uploads", {}).items()
        },
        job=_job(job) if job else None,
        metrics=MetricsSummary(**data["metrics"]) if data.get("metrics") else None,
        overfitting=_verdict(data["overfitting"]) if data.get("overfitting") else None,
        cost_estimate_usd=data.get("cost_estimate_usd"),
        deployment=(
            _load(
                DeploymentInfo,
                deployment,
                "requested_at",
                "serving_at",
                "expires_at",
                "deleted_at",
                "checked_at",
            )
            if deployment
            else None
        ),
        claim=_load(Claim, data["claim"], "at") if data.get("claim") else None,
        retry=_load(RetryState, data["retry"], "next_attempt_at") if data.get("retry") else None,
        ignored=[
            IgnoredChange(
                _time(item["at"]), FileKind(item["kind"]), item["blob_etag"], item["reason"]
            )
            for item in data.get("ignored", [])
        ],
        failure_reason=data.get("failure_reason"),
        stalled=bool(data.get("stalled", False)),
        cancel_requested=bool(data.get("cancel_requested", False)),
        event_sequence=int(data.get("event_sequence", 0)),
        evaluation=EvaluationFlag.from_dict(data["evaluation"]) if data.get("evaluation") else None,
        version=version,
        model_warnings=[str(item) for item in data.get("model_warnings", [])],
        model_retirement_noted=data.get("model_retirement_noted"),
        capacity_wait=(
            _load(CapacityWait, data["capacity_wait"], "since")
            if data.get("capacity_wait")
            else None
        ),
        cleanup=_load(FilesCleanup, data["cleanup"], "due_at") if data.get("cleanup") else None,
        account=data.get("account"),
    )


def _verdict(data: dict[str, Any]) -> Verdict:
    # A verdict saved before levels existed judged only the rise: overfitting, or not judged.
    level = data.get("level") or ("overfitting" if data.get("overfitting") else "unknown")
    return _load(Verdict, {**data, "level": level})


def _job(data: dict[str, Any]) -> JobInfo:
    job = _load(JobInfo, data, "created_at")
    job.events = [_load(JobEvent, item, "at") for item in data.get("events", [])]
    job.checkpoints = [Checkpoint(**item) for item in data.get("checkpoints", [])]
    return job


def _load(kind: type, data: dict[str, Any], *times: str) -> Any:
    known = {item.name for item in fields(kind)}
    values = {key: value for key, value in data.items() if key in known}
    for key in times:
        if values.get(key):
            values[key] = _time(values[key])
    return kind(**values)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if is_dataclass(value) and not isinstance(value, type):
        return {key: _plain(item) for key, item in asdict(value).items()}
    if isinstance(value, dict):
        return {_plain(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)
