"""A fine-tuning job's record and everything derived from it at a given time.

Pure apart from the record itself: status, events and checkpoints are functions of `now`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from localdev.emulator.store import derived_id
from localdev.emulator.training import TrainingPlan

TERMINAL = ("succeeded", "failed", "cancelled")
STEP_EVENTS = 20  # about this many "Step n/N" events per job, plus each epoch's last step
# "Upon completion of a fine-tuning job, you will have access to the three most recent versions
# of the model": the service keeps the checkpoints of the last three epochs, each deployable.
KEPT_CHECKPOINTS = 3


@dataclass
class Job:
    """A job as created; `outcome` and `ended_at` change only when it is cancelled."""

    id: str
    model: str
    training_file: str
    validation_file: str | None
    suffix: str | None
    seed: int
    created_at: float
    started_at: float
    trains_until: float  # when training ends if nothing stops it
    ended_at: float
    outcome: str  # what the job becomes at `ended_at`
    plan: TrainingPlan
    trained_tokens: int
    results_file: str
    error_code: str = ""
    error_message: str = ""
    requested: dict[str, Any] = field(default_factory=dict)
    """The hyperparameters as sent; "auto" (or absent) ones are resolved when training starts."""
    training_type: str = "standard"
    """standard, global or developer: which running limit the job waits for."""

    @property
    def fine_tuned_model(self) -> str:
        # Continuing a fine-tuned model names the result after the base model again.
        base = self.model.partition(".ft-")[0]
        name = f"{base}.ft-{self.id.removeprefix('ftjob-')}"
        return f"{name}-{self.suffix}" if self.suffix else name

    def status(self, now: float) -> str:
        if now >= self.ended_at:
            return self.outcome
        return "running" if now >= self.started_at else "pending"

    def steps_done(self, now: float) -> int:
        span = self.trains_until - self.started_at
        if span <= 0:
            return self.plan.total_steps
        progress = (min(now, self.ended_at) - self.started_at) / span
        return max(0, min(self.plan.total_steps, math.floor(progress * self.plan.total_steps)))

    def step_time(self, step: int) -> float:
        return self.started_at + (self.trains_until - self.started_at) * step / max(
            1, self.plan.total_steps
        )

    def hyperparameters(self, now: float) -> dict[str, Any]:
        """What the job reports: until training starts, the values sent and -1 for each left
        to the service (as the spec's example of a pending job shows); from then on the values
        the service chose."""
        hyper = self.plan.hyperparameters
        resolved = {
            "n_epochs": hyper.n_epochs,
            "batch_size": hyper.batch_size,
            "learning_rate_multiplier": hyper.learning_rate_multiplier,
        }
        if now >= self.started_at and self.ended_at >= self.started_at:
            return resolved
        return {
            key: value if self.requested.get(key, "auto") not in ("auto", None, -1) else -1
            for key, value in resolved.items()
        }

    def to_json(self, now: float) -> dict[str, Any]:
        status = self.status(now)
        payload: dict[str, Any] = {
            "object": "fine_tuning.job",
            "id": self.id,
            "model": self.model,
            "created_at": int(self.created_at),
            "status": status,
            "training_file": self.training_file,
            "hyperparameters": self.hyperparameters(now),
            "seed": self.seed,
            "result_files": [],
        }
        if self.validation_file:
            payload["validation_file"] = self.validation_file
        if self.suffix:
            payload["suffix"] = self.suffix
        if status in ("pending", "running"):
            payload["estimated_finish"] = math.ceil(self.ended_at)
        if status in TERMINAL:
            payload["finished_at"] = int(self.ended_at)
        if status == "succeeded":
            payload["result_files"] = [self.results_file]
            payload["fine_tuned_model"] = self.fine_tuned_model
            payload["trained_tokens"] = self.trained_tokens
        if status == "failed":
            payload["error"] = {"code": self.error_code, "message": self.error_message}
        return payload


def events(job: Job, now: float) -> list[dict[str, Any]]:
    """The job's events so far, newest first, as the service lists them."""
    timeline: list[tuple[float, str, str, dict[str, Any] | None]] = [
        (job.created_at, "info", "Job enqueued. Waiting for jobs ahead to complete.", None),
        (job.created_at, "info", f"Validating training file: {job.training_file}", None),
    ]
    if now >= job.started_at and job.started_at <= job.ended_at:
        timeline.append((job.started_at, "info", "Fine-tuning job started.", None))
    timeline += _step_events(job, now)
    if now >= job.ended_at:
        timeline += _ending_events(job)
    records = []
    for index, (when, level, message, data) in enumerate(timeline):
        record: dict[str, Any] = {
            "object": "fine_tuning.job.event",
            "id": derived_id("ftevent", job.id, index),
            "created_at": int(when),
            "level": level,
            "message": message,
            "type": "metrics" if data else "message",
        }
        if data:
            record["data"] = data
        records.append((when, index, record))
    records.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return [record for _, _, record in records]


def _step_events(job: Job, now: float) -> list[tuple[float, str, str, dict[str, Any] | None]]:
    plan, done = job.plan, job.steps_done(now)
    every = max(1, plan.total_steps // STEP_EVENTS)
    found = []
    for row in plan.rows[:done]:
        epoch_end = row.step % plan.steps_per_epoch == 0
        if row.step % every and not epoch_end:
            continue
        text = f"Step {row.step}/{plan.total_steps}: training loss={row.train_loss:.4f}"
        if row.valid_loss is not None:
            text += f", validation loss={row.valid_loss:.4f}"
        data = {"total_steps": plan.total_steps, **row.as_metrics()}
        found.append((job.step_time(row.step), "info", text, data))
        if epoch_end:
            message = f"Checkpoint created at step {row.step}."
            found.append((job.step_time(row.step), "info", message, None))
    return found


def _ending_events(job: Job) -> list[tuple[float, str, str, dict[str, Any] | None]]:
    when = job.ended_at
    if job.outcome == "cancelled":
        return [(when, "info", "Job cancelled.", None)]
    if job.outcome == "failed":
        return [(when, "error", f"Job failed: {job.error_message}", None)]
    return [
        (when, "info", f"New fine-tuned model created: {job.fine_tuned_model}", None),
        (when, "info", f"Training tokens billed: {job.trained_tokens}", None),
        (when, "info", f"Completed results file: {job.results_file}", None),
        (when, "info", "Job succeeded.", None),
    ]


def checkpoints(job: Job, now: float) -> list[dict[str, Any]]:
    """One checkpoint per finished epoch, the last `KEPT_CHECKPOINTS` of them, newest first."""
    plan = job.plan
    done = job.steps_done(now)
    found = []
    for epoch in range(1, plan.hyperparameters.n_epochs + 1):
        row = plan.epoch_end(epoch)
        if row.step > done:
            break
        found.append(
            {
                "object": "fine_tuning.job.checkpoint",
                "id": derived_id("ftchkpt", job.id, epoch),
                "created_at": int(job.step_time(row.step)),
                "fine_tuned_model_checkpoint": f"{job.fine_tuned_model}:ckpt-step-{row.step}",
                "step_number": row.step,
                "metrics": row.as_metrics(),
                "fine_tuning_job_id": job.id,
            }
        )
    return list(reversed(found[-KEPT_CHECKPOINTS:]))
