"""The account's limits, what is in use against them, and the highest use seen.

Defaults are the Azure OpenAI "quotas and limits" page's (see README.md here, "Limits").
`LOCALDEV_EMULATOR_LIMITS` (JSON) and `PUT /_emulator/limits` change them; `GET` reads them
with the high-water marks. Nothing here runs on a thread: use is counted from the stored
records at the time of each request, and the marks are raised whenever use is counted.

Jobs beyond the running limit of their training type stay `pending` until a slot frees, as the
service queues them: a job's start is scheduled, first come first served, when it is created,
and again for every job still waiting when a job ends early or the limits change.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from localdev.emulator.wire import ApiError

if TYPE_CHECKING:
    from localdev.emulator.arm import Deployment
    from localdev.emulator.jobs import Job
    from localdev.emulator.store import State

ENVIRONMENT_VARIABLE = "LOCALDEV_EMULATOR_LIMITS"
GIB = 1024**3
DAY_SECONDS = 86400.0
TRAINING_TYPES = ("standard", "global", "developer")
# How the service refuses a request over a count limit is not documented (see README.md):
# each plausible shape can be chosen, by the limits (`refusal`) or by a `quota` fault.
REFUSAL_SHAPES = ("400", "429", "429-no-retry-after", "409")
FILE_PURPOSES = ("fine-tune", "fine-tune-results")


@dataclass(frozen=True)
class Limits:
    """The count limits of one account (defaults: the documented values)."""

    running_jobs: int = 3
    """Standard and Global training jobs running at once."""
    queued_jobs: int = 20
    total_jobs: int = 100
    deployments: int = 10
    """Deployments of fine-tuned models (base-model deployments do not count)."""
    files: int = 100
    file_bytes: int = GIB
    idle_deployment_days: float = 15.0
    developer_running_jobs: int = 5
    refusal: str = "400"
    """The shape of a refusal over a limit: one of `REFUSAL_SHAPES`."""

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name == "refusal":
                if value not in REFUSAL_SHAPES:
                    shapes = ", ".join(REFUSAL_SHAPES)
                    raise ValueError(f'limits: "refusal" must be one of {shapes}, not {value!r}')
            elif isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValueError(f'limits: "{item.name}" must be a number above 0, not {value!r}')

    def running_limit(self, training_type: str) -> int:
        return self.developer_running_jobs if training_type == "developer" else self.running_jobs

    def changed(self, payload: Any) -> Limits:
        """These limits with the keys of `payload` (a JSON object) changed; unknown keys refused."""
        if not isinstance(payload, dict):
            raise ValueError("limits must be a JSON object")
        known = {item.name for item in fields(self)}
        unknown = sorted(set(payload) - known)
        if unknown:
            raise ValueError(f"limits: unknown keys {', '.join(unknown)}; known: {sorted(known)}")
        return replace(self, **payload)

    @classmethod
    def from_environment(cls, text: str | None) -> Limits:
        """The limits `LOCALDEV_EMULATOR_LIMITS` sets (the defaults when unset or empty)."""
        if not text or not text.strip():
            return cls()
        try:
            payload = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{ENVIRONMENT_VARIABLE} is not JSON: {exc}") from exc
        return cls().changed(payload)


def usage(state: State) -> dict[str, int]:
    """What is in use now, by the limit's name; raises the high-water marks."""
    now = state.now()
    with state.lock:
        files = [f for f in state.files.values() if f.purpose in FILE_PURPOSES]
        jobs = list(state.jobs.values())
        deployments = [d for d in state.deployments.values() if counts_as_fine_tuned(state, d)]
    running = sum(1 for job in jobs if job.status(now) == "running")
    waiting = sum(1 for job in jobs if is_waiting_for_slot(job, now, state))
    found = {
        "running_jobs": running,
        "queued_jobs": waiting,
        "total_jobs": len(jobs),
        "deployments": sum(
            1
            for d in deployments
            if (d.gone_at is None or now < d.gone_at) and not idle_too_long(state, d)
        ),
        "files": len(files),
        "file_bytes": sum(len(f.content) for f in files),
    }
    # Jobs start and end with time, not with requests: their peaks are swept from the intervals.
    queued_at = state.timings.job_queued
    peaks = {
        **found,
        "running_jobs": _most_at_once([(j.started_at, j.ended_at) for j in jobs], now),
        "queued_jobs": _most_at_once(
            [(j.created_at + queued_at, min(j.started_at, j.ended_at)) for j in jobs], now
        ),
    }
    with state.lock:
        for key, value in peaks.items():
            state.peaks[key] = max(state.peaks.get(key, 0), value)
    return found


def _most_at_once(intervals: list[tuple[float, float]], now: float) -> int:
    """The most of these [start, end) intervals that overlapped at any moment up to `now`."""
    moves = sorted(
        (moment, step)
        for start, end in intervals
        if start < end and start <= now
        for moment, step in ((start, 1), (end, -1))
    )
    most = current = 0
    for _, step in moves:  # an end sorts before a start at the same moment
        current += step
        most = max(most, current)
    return most


def report(state: State) -> dict[str, Any]:
    """The answer of `GET /_emulator/limits`."""
    in_use = usage(state)
    return {"limits": asdict(state.limits), "in_use": in_use, "high_water": dict(state.peaks)}


def counts_as_fine_tuned(state: State, deployment: Deployment) -> bool:
    return deployment.serves in state.trained or ".ft-" in deployment.serves


def is_waiting_for_slot(job: Job, now: float, state: State) -> bool:
    """Pending past its validation, waiting for a running slot (the service's "queued")."""
    return job.status(now) == "pending" and now >= job.created_at + state.timings.job_queued


def refuse(state: State, what: str, in_use: int, limit: float, *, plane: str) -> ApiError:
    """The refusal of a request that would go past `limit`, in the limits' chosen shape."""
    message = (
        f"The limit of {what} for this resource has been reached ({in_use} of {limit:g} in use)."
    )
    return quota_error(state.limits.refusal, message, plane=plane)


def quota_error(shape: str, message: str, *, plane: str, retry_after: int = 1) -> ApiError:
    """A refusal over a count limit, in one of the plausible shapes (none is documented)."""
    code = "quotaExceeded" if plane == "authoring" else "QuotaExceeded"
    status = {"400": 400, "429": 429, "429-no-retry-after": 429, "409": 409}[shape]
    headers = {"Retry-After": str(retry_after)} if shape == "429" else {}
    return ApiError(status, code, message, headers)


def check_file_room(state: State, size: int) -> None:
    """Refuses a new file when the account's file count or bytes are at their limit."""
    in_use, limits = usage(state), state.limits
    if in_use["files"] + 1 > limits.files:
        raise refuse(state, "files", in_use["files"], limits.files, plane="authoring")
    if in_use["file_bytes"] + size > limits.file_bytes:
        what = "bytes in files"
        raise refuse(state, what, in_use["file_bytes"], limits.file_bytes, plane="authoring")


def check_job_room(state: State) -> None:
    """Refuses a new job past the queue (running plus queued), the jobs in all, or the files
    (the job's results file needs a place)."""
    now, limits = state.now(), state.limits
    in_use = usage(state)
    with state.lock:
        active = sum(1 for job in state.jobs.values() if job.status(now) in ("pending", "running"))
    in_line = limits.running_jobs + limits.queued_jobs
    if active >= in_line:
        raise refuse(state, "queued and running jobs", active, in_line, plane="authoring")
    if in_use["total_jobs"] >= limits.total_jobs:
        raise refuse(state, "jobs", in_use["total_jobs"], limits.total_jobs, plane="authoring")
    if in_use["files"] + 1 > limits.files:
        what = "files (for the job's results file)"
        raise refuse(state, what, in_use["files"], limits.files, plane="authoring")


def check_deployment_room(state: State) -> None:
    in_use, limits = usage(state), state.limits
    if in_use["deployments"] >= limits.deployments:
        what = "fine-tuned model deployments"
        raise refuse(state, what, in_use["deployments"], limits.deployments, plane="arm")


def schedule(state: State) -> None:
    """Sets the start of every job not started yet: first come first served, each when a
    running slot of its training type is free."""
    now = state.now()
    with state.lock:
        jobs = sorted(state.jobs.values(), key=lambda job: job.created_at)
        for index, job in enumerate(jobs):
            if job.started_at <= now or job.ended_at < job.started_at:
                continue  # started, or cancelled while it waited
            ready = max(now, job.created_at + state.timings.job_queued)
            if job.ended_at == job.started_at:
                _move_start(state, job, ready)  # refused at validation: it takes no slot
                continue
            earlier = [
                other for other in jobs[:index]
                if other.training_type == job.training_type and other.ended_at > other.started_at
            ]  # fmt: skip
            limit = state.limits.running_limit(job.training_type)
            _move_start(state, job, _first_free(earlier, ready, limit))


def _first_free(earlier: list[Job], ready: float, limit: int) -> float:
    """The first time from `ready`, once every earlier job has started, at which fewer than
    `limit` of them still run (first come, first served)."""
    begin = max([ready, *(job.started_at for job in earlier)])
    for moment in sorted({begin, *(job.ended_at for job in earlier if job.ended_at > begin)}):
        if sum(1 for job in earlier if job.ended_at > moment) < limit:
            return moment
    return begin  # unreachable: after the last end nothing runs


def _move_start(state: State, job: Job, start: float) -> None:
    shift = start - job.started_at
    if shift == 0:
        return
    job.started_at += shift
    job.trains_until += shift
    job.ended_at += shift
    results = state.files.get(job.results_file)
    if results is not None and results.visible_at != float("inf"):
        results.visible_at += shift


def idle_cutoff(state: State) -> float:
    """Deployments last used before this moment are deleted by the service."""
    return state.now() - state.limits.idle_deployment_days * DAY_SECONDS


def idle_too_long(state: State, deployment: Deployment) -> bool:
    """A fine-tuned deployment with no chat for `idle_deployment_days`: the service deletes it."""
    if not counts_as_fine_tuned(state, deployment):
        return False
    last_used = deployment.last_used_at or deployment.succeeded_at
    return last_used < idle_cutoff(state)
