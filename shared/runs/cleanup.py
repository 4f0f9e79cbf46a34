"""Deleting what a run put on Azure OpenAI once it is no longer needed. Pure: rules only.

Once the run's job has ended and its curves and results are saved in Tunedrop's storage, the
files the run uploaded (train, validation) and the job's results file are deleted from the
service, after `KEEP_SERVICE_FILES_HOURS` (0: at once; "forever": never). Failed and cancelled
runs too, once their job (if any) has ended. Only ids the run recorded are deleted, never another
tool's file; each deletion is a timeline note.

A run with files to delete stays active (the timer reads it) until they are gone; a run whose
files are kept for ever is not active for them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from shared.runs.facts import FilesCleanup
from shared.runs.states import RunState

if TYPE_CHECKING:  # the record asks this module whether a clean-up is pending
    from shared.runs.record import Run

S = RunState
FINISHED_JOB = frozenset({"succeeded", "failed", "cancelled"})
# States in which the job is over and, when it succeeded, its curves and results are saved
# (the poll that saw it succeed saved them before moving the run).
AFTER_TRAINING = frozenset({S.SUCCEEDED, S.DEPLOYING, S.DEPLOYED, S.EXPIRED})


def recorded_files(run: Run) -> list[tuple[str, str]]:
    """(id, what) of every file the run recorded on the service: uploads and results."""
    found = [(item.file_id, kind.value) for kind, item in run.uploads.items()]
    job = run.job
    if job is not None:
        found += [(file_id, "the job's results file") for file_id in job.result_files]
    return found


def job_over(run: Run) -> bool:
    """True when no job of the run can still need its files."""
    state: RunState = run.state
    job = run.job
    if state in AFTER_TRAINING:
        return True
    if state is S.CANCELLED:
        return True  # Tunedrop cancels the job before the run (`steps.cancel_job_of`)
    if state is S.FAILED:
        return job is None or job.status in FINISHED_JOB
    return False


def pending(run: Run) -> bool:
    """True while the run has files on the service that wait for deletion (or for a decision)."""
    cleanup: FilesCleanup | None = run.cleanup
    if cleanup is not None:
        return not cleanup.done and cleanup.due_at is not None
    return job_over(run) and bool(recorded_files(run))


def due(run: Run, now: datetime) -> bool:
    """True when the clean-up step should run now: to schedule it, or to delete."""
    cleanup: FilesCleanup | None = run.cleanup
    if cleanup is None:
        return pending(run)
    return pending(run) and cleanup.due_at is not None and now >= cleanup.due_at


def schedule(run: Run, now: datetime, keep_hours: float | None) -> FilesCleanup:
    """Decides when the run's files go, with a note; returns the decision."""
    due_at = None if keep_hours is None else now + timedelta(hours=keep_hours)
    cleanup = FilesCleanup(due_at)
    run.cleanup = cleanup
    if due_at is None:
        run.note(now, "the run's files stay on Azure OpenAI (KEEP_SERVICE_FILES_HOURS=forever)")
    elif due_at > now:
        run.note(now, f"the run's files on Azure OpenAI go at {due_at:%Y-%m-%d %H:%M} UTC")
    return cleanup


def to_delete(run: Run) -> list[tuple[str, str]]:
    cleanup: FilesCleanup | None = run.cleanup
    deleted = set(cleanup.deleted) if cleanup else set()
    return [(file_id, what) for file_id, what in recorded_files(run) if file_id not in deleted]


def file_deleted(run: Run, file_id: str, what: str, now: datetime) -> None:
    cleanup = run.cleanup
    if cleanup is None:
        return
    cleanup.deleted = [*cleanup.deleted, file_id]
    run.note(now, f"deleted {what} ({file_id}) from Azure OpenAI")


def finished(run: Run, now: datetime) -> None:
    cleanup = run.cleanup
    if cleanup is None:
        return
    cleanup.done = True
    run.updated_at = now


__all__ = ["due", "file_deleted", "finished", "pending", "schedule", "to_delete"]
