"""Keeping a shared account tidy and the records true: deleting a run's files from the service
once its job is over, and reading a deployed run's deployment back to notice one that vanished.
"""

from __future__ import annotations

import logging
from datetime import datetime

from shared.pipeline.services import Services
from shared.runs import cleanup
from shared.runs.record import Run

logger = logging.getLogger(__name__)

IDLE_DELETION_NOTE = (
    "deleted outside Tunedrop: by someone, or by the service, which deletes a fine-tuned "
    "deployment unused for 15 days whatever its time to live"
)


def clean_up_files(run: Run, services: Services, now: datetime) -> None:
    """Schedules the deletion of the run's files (KEEP_SERVICE_FILES_HOURS), or deletes them
    when due: only the ids the run recorded, each with a note."""
    if run.cleanup is None:
        plan = cleanup.schedule(run, now, services.policy.keep_files_hours)
        if plan.due_at is None or plan.due_at > now:
            return
    for file_id, what in cleanup.to_delete(run):
        services.fine_tuning.delete_file(file_id)
        logger.info("Run %s: deleted %s (%s) from the service", run.name, what, file_id)
        cleanup.file_deleted(run, file_id, what, now)
    cleanup.finished(run, now)


def check_deployment(run: Run, services: Services, now: datetime) -> None:
    """One GET of the deployment through ARM; a deployment that is gone (or no longer serves)
    moves the run where it can be deployed again, saying why."""
    deployment = run.deployment
    if deployment is None:
        return
    remote = services.deployments.get(deployment.name)
    if remote is None:
        run.deployment_failed(f"deployment {deployment.name!r} is gone: {IDLE_DELETION_NOTE}", now)
        deployment.deleted_at = now
        deployment.state = "Deleted"
        return
    if remote.state in ("Failed", "Canceled", "Deleting"):
        run.deployment_failed(
            f"deployment {deployment.name!r} is {remote.state} (changed outside Tunedrop)", now
        )
        return
    deployment.checked_at = now
    run.updated_at = now
