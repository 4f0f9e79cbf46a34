"""Room on the shared account, once per tick: count what is on it, then admit runs in order.

The account is read only when some run asks for room (three list calls: files, jobs,
deployments), so a tick costs nothing more at rest, and one count serves every waiting run:
the work grows with the active runs, never with runs times calls.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from shared.errors import TunedropError
from shared.pipeline.model_admission import refuses_run_model
from shared.pipeline.services import Services
from shared.runs.admission import (
    AccountUsage,
    Admitted,
    Decision,
    RoomRequest,
    admit,
    need_of,
    reserved_by,
)
from shared.runs.record import Run

logger = logging.getLogger(__name__)

ACTIVE_JOB_STATES = frozenset({"validating_files", "queued", "pending", "running", "created"})
FINE_TUNED_MARK = ".ft-"
CHECKPOINT_PREFIX = "ftchkpt-"  # a kept checkpoint, deployed by its id


def decide(
    runs: Sequence[Run],
    services: Services,
    now: datetime,
    counted: Callable[[], AccountUsage] | None = None,
) -> dict[str, Decision | None]:
    """The admission decision for each run that asks for room now. None: the account could
    not be counted this tick, so the run waits for the next one. `counted` counts the account
    instead of `account_usage` (the pool's tick counts each account once)."""
    policy = services.policy
    asking: dict[str, RoomRequest] = {}
    # A run whose model the account cannot train takes no place in the queue: its StartRun
    # fails it now, naming the models the account can fine-tune.
    refused: dict[str, Decision | None] = {}
    for run in runs:
        request = need_of(run, now, policy)
        if request is None:
            continue
        if refuses_run_model(run, services, now):
            refused[run.name] = Admitted()
        else:
            asking[run.name] = request
    if not asking:
        return refused
    try:
        usage = counted() if counted is not None else account_usage(services)
    except TunedropError as exc:
        logger.warning("Could not count the account's use; %s runs wait: %s", len(asking), exc)
        return dict.fromkeys(asking) | refused
    in_use = usage.plus(reserved_by(runs, asking))
    decisions: dict[str, Decision | None] = dict(admit(asking.values(), in_use, policy.limits))
    return decisions | refused


def account_usage(services: Services) -> AccountUsage:
    """What is on the account now, every tool's: files and bytes, jobs, fine-tuned deployments."""
    files = services.fine_tuning.list_files()
    jobs = services.fine_tuning.list_jobs()
    deployments = services.deployments.list_all()
    return AccountUsage(
        files=len(files),
        file_bytes=sum(item.bytes for item in files),
        active_jobs=sum(1 for job in jobs if job.status in ACTIVE_JOB_STATES),
        total_jobs=len(jobs),
        deployments=sum(
            1
            for item in deployments
            if FINE_TUNED_MARK in item.model or item.model.startswith(CHECKPOINT_PREFIX)
        ),
    )
