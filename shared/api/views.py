"""JSON views of runs: what `GET /api/runs...` answers and what the run page shows.

A view holds what a client needs to follow a run and nothing that opens anything: no keys, SAS
tokens, connection strings, blob ETags or the pipeline's internal claims. Times are ISO 8601 in
UTC; states are their values (`shared.runs.states.RunState`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from shared.api.redact import redact
from shared.evaluation.report import summary_view as evaluation_summary
from shared.pipeline.protocols import RunPage, RunSummary
from shared.runs.config import RunConfig
from shared.runs.curves import LossPoint
from shared.runs.facts import DeploymentInfo, FileVerdict, JobInfo
from shared.runs.record import Run

API_PREFIX = "/api"


def run_links(name: str) -> dict[str, str]:
    """The API paths of a run (relative to the host), for clients to follow."""
    base = f"{API_PREFIX}/runs/{quote(name, safe='')}"
    return {
        "self": base,
        "metrics": f"{base}/metrics",
        "loss_svg": f"{base}/loss.svg",
        "view": f"{base}/view",
        "deploy": f"{base}/deploy",
        "deployment": f"{base}/deployment",
        "cancel": f"{base}/cancel",
        "chat": f"{base}/chat",
        "evaluate": f"{base}/evaluate",
        "evaluation": f"{base}/evaluation",
    }


def run_view(run: Run, *, reports_url: str = "") -> dict[str, Any]:
    """Everything a client may know about a run. `reports_url` is the reports container's URL
    (no credentials in it); each file's `report_url` is built on it when given."""
    return redact(_run_view(run, reports_url))


def _run_view(run: Run, reports_url: str) -> dict[str, Any]:
    return {
        "name": run.name,
        "state": run.state.value,
        "stalled": run.stalled,
        "cancel_requested": run.cancel_requested,
        "failure_reason": run.failure_reason,
        "account": run.account,
        "created_at": _time(run.created_at),
        "updated_at": _time(run.updated_at),
        "last_progress_at": _time(run.last_progress_at),
        "timeline": [
            {
                "at": _time(entry.at),
                "from": entry.from_state.value if entry.from_state else None,
                "to": entry.to_state.value,
                "reason": entry.reason,
            }
            for entry in run.timeline
        ],
        "files": {
            kind.value: _file_view(verdict, reports_url) for kind, verdict in run.files.items()
        },
        "ignored_changes": [
            {"at": _time(item.at), "file": item.kind.value, "reason": item.reason}
            for item in run.ignored
        ],
        "uploads": {
            kind.value: {"file_id": item.file_id, "status": item.status, "error": item.error}
            for kind, item in run.uploads.items()
        },
        "config": _config_view(run.config),
        "hyperparameters": hyperparameters_view(run.config, run.job),
        "job": _job_view(run.job),
        "trained_tokens": run.job.trained_tokens if run.job else None,
        "cost_estimate_usd": run.cost_estimate_usd,
        "metrics": dict(vars(run.metrics)) if run.metrics else None,
        "overfitting": run.overfitting.to_dict() if run.overfitting else None,
        "deployment": _deployment_view(run.deployment, run.account),
        "retry": (
            {
                "step": run.retry.step,
                "attempts": run.retry.attempts,
                "next_attempt_at": _time(run.retry.next_attempt_at),
                "last_error": run.retry.last_error,
            }
            if run.retry
            else None
        ),
        "evaluation": evaluation_summary(run.evaluation, run_links(run.name)),
        "links": run_links(run.name),
        "model_warnings": list(run.model_warnings),
        "waiting": (
            {
                "for": run.capacity_wait.need,
                "since": _time(run.capacity_wait.since),
                "reason": run.capacity_wait.reason,
                "refusals": run.capacity_wait.refusals,
            }
            if run.capacity_wait
            else None
        ),
    }


def summary_view(summary: RunSummary) -> dict[str, Any]:
    """One line of `GET /api/runs`."""
    return {
        "name": summary.name,
        "state": summary.state.value,
        "stalled": summary.stalled,
        "created_at": _time(summary.created_at),
        "updated_at": _time(summary.updated_at),
        "fine_tuned_model": summary.fine_tuned_model,
        "deployment": summary.deployment,
        "account": summary.account,
        "deployment_account": summary.deployment_account
        or (summary.account if summary.deployment else None),
        "links": {"self": run_links(summary.name)["self"]},
    }


def page_view(page: RunPage, continuation_token: str | None) -> dict[str, Any]:
    """`GET /api/runs`: a page of runs and the token of the next page (null on the last)."""
    return {
        "runs": [summary_view(item) for item in page.runs],
        "continuation": continuation_token,
    }


def metrics_view(run: Run, points: Sequence[LossPoint]) -> dict[str, Any]:
    """`GET /api/runs/{run}/metrics`: the per-step curves, epoch ends and the verdict."""
    return redact(
        {
            "run": run.name,
            "state": run.state.value,
            "points": [point.to_dict() for point in points],
            "epoch_steps": epoch_steps(points, run),
            "summary": dict(vars(run.metrics)) if run.metrics else None,
            "overfitting": run.overfitting.to_dict() if run.overfitting else None,
        }
    )


def epoch_steps(points: Sequence[LossPoint], run: Run) -> list[int]:
    """The last step of each epoch, from the best evidence at hand.

    Azure computes the full validation loss at the end of each epoch, so those rows mark the
    epochs when a validation file was given. Else the checkpoints (one per epoch, evenly spaced)
    give the epoch length, and else a fixed `n_epochs` from run.json splits the steps evenly.
    """
    full = [point.step for point in points if point.full_valid_loss is not None]
    if full:
        return full
    last = points[-1].step if points else None
    checkpoints = sorted(c.step for c in run.job.checkpoints) if run.job else []
    if last and len(checkpoints) >= 2:
        length = checkpoints[1] - checkpoints[0]
        if length > 0:
            return list(range(length, last + 1, length))
    n_epochs = run.config.n_epochs if run.config else None
    if last and isinstance(n_epochs, int) and n_epochs > 1 and last % n_epochs == 0:
        length = last // n_epochs
        return list(range(length, last + 1, length))
    return []


def hyperparameters_view(config: RunConfig | None, job: JobInfo | None) -> dict[str, Any]:
    """Each hyperparameter and the seed as run.json asked for it ("auto" or null when left to
    the service) next to the value the service used (null until the job reports it)."""
    used = job.hyperparameters if job else {}
    asked: dict[str, Any] = {
        "n_epochs": config.n_epochs if config else "auto",
        "batch_size": config.batch_size if config else "auto",
        "learning_rate_multiplier": config.learning_rate_multiplier if config else "auto",
    }
    view = {key: {"requested": value, "used": used.get(key)} for key, value in asked.items()}
    view["seed"] = {"requested": config.seed if config else None, "used": job.seed if job else None}
    return view


def _file_view(verdict: FileVerdict, reports_url: str) -> dict[str, Any]:
    view: dict[str, Any] = {
        "valid": verdict.valid,
        "summary": verdict.summary,
        "checked_at": _time(verdict.checked_at),
        "report": verdict.report_path,
        "report_url": f"{reports_url}/{quote(verdict.report_path)}" if reports_url else None,
    }
    for key in ("examples", "tokens", "billable_training_tokens", "estimated_training_cost_usd"):
        if verdict.stats.get(key) is not None:
            view[key] = verdict.stats[key]
    return view


def _config_view(config: RunConfig | None) -> dict[str, Any] | None:
    if config is None:
        return None
    return {
        "model": config.model,
        "suffix": config.suffix,
        "hyperparameters": {
            "n_epochs": config.n_epochs,
            "batch_size": config.batch_size,
            "learning_rate_multiplier": config.learning_rate_multiplier,
        },
        "seed": config.seed,
        "deploy": {
            "enabled": config.deploy.enabled,
            "name": config.deploy.name,
            "sku": config.deploy.sku,
            "capacity": config.deploy.capacity,
            "ttl_hours": config.deploy.ttl_hours,
        },
        "evaluate": config.evaluate,
        "training_type": config.training_type,
    }


def _job_view(job: JobInfo | None) -> dict[str, Any] | None:
    if job is None:
        return None
    return {
        "id": job.id,
        "status": job.status,
        "created_at": _time(job.created_at),
        "fine_tuned_model": job.fine_tuned_model,
        "trained_tokens": job.trained_tokens,
        "error": job.error,
        "events": [{"at": _time(e.at), "level": e.level, "message": e.message} for e in job.events],
        "checkpoints": [
            {"step": c.step, "model": c.model, "metrics": dict(c.metrics)} for c in job.checkpoints
        ],
    }


def _deployment_view(
    deployment: DeploymentInfo | None, run_account: str | None = None
) -> dict[str, Any] | None:
    if deployment is None:
        return None
    return {
        "name": deployment.name,
        "state": deployment.state,
        "model": deployment.model,
        "sku": deployment.sku,
        "capacity": deployment.capacity,
        "ttl_hours": deployment.ttl_hours,
        "requested_at": _time(deployment.requested_at),
        "serving_at": _time(deployment.serving_at),
        "expires_at": _time(deployment.expires_at),
        "deleted_at": _time(deployment.deleted_at),
        "checkpoint": deployment.checkpoint,
        "checkpoint_step": deployment.checkpoint_step,
        "chosen_because": deployment.chosen_because,
        "teardown_requested": deployment.teardown_requested,
        "created_by_tunedrop": deployment.created_by_tunedrop,
        "error": deployment.error,
        "checked_at": _time(deployment.checked_at),
        # Where the deployment is: the run's account, or the one it was deployed across to.
        "account": deployment.account or run_account,
    }


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
