"""What the timer does on each tick: advance every active run by the steps that are due.

advance_runs(services, now)          the timer: advances the runs, or, past the fan-out
                                     threshold, puts the due ones on RUNS_QUEUE
advance_queued(services, text, now)  the queue trigger: advances the runs of one message
"""

from __future__ import annotations

import copy
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from shared.errors import (
    ConcurrentUpdate,
    Conflict,
    DeploymentNotReady,
    NoRoom,
    NotFound,
    PermanentServiceError,
    TransientServiceError,
)
from shared.pipeline import placement
from shared.pipeline.fan_out import is_due, put_on_queue
from shared.pipeline.model_admission import note_deployed_retirement
from shared.pipeline.pool import AccountGone, services_on
from shared.pipeline.run_messages import QueuedRun, from_message
from shared.pipeline.services import Services
from shared.pipeline.steps import execute
from shared.runs import waiting
from shared.runs.admission import Admitted, Decision, Need, Waiting, need_of
from shared.runs.facts import Claim
from shared.runs.plan import (
    CLAIMED_STEPS,
    CreateDeployment,
    CreateJob,
    Nothing,
    Step,
    UploadFile,
    WaitForFiles,
    is_stalled,
    next_step,
)
from shared.runs.record import Run

logger = logging.getLogger(__name__)
T = TypeVar("T")

MAX_STEPS_PER_RUN = 8
# Steps that take room on the account: a refusal for a full quota sends the run back to waiting.
ROOM_STEPS = {
    UploadFile: Need.TRAINING,
    CreateJob: Need.TRAINING,
    CreateDeployment: Need.DEPLOYMENT,
}


@dataclass
class TickSummary:
    """What one tick did, for the log and the benchmarks."""

    runs: int = 0
    steps: Counter[str] = field(default_factory=Counter)
    transitions: int = 0
    conflicts: int = 0
    retries: int = 0
    stalled: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    queued: int = 0
    """Due runs put on RUNS_QUEUE instead of advanced here."""
    messages: int = 0
    stale: int = 0
    """Queued runs left alone: their record changed since the tick read it, or is gone."""

    def add(self, other: TickSummary) -> None:
        self.runs += other.runs
        self.steps.update(other.steps)
        self.transitions += other.transitions
        self.conflicts += other.conflicts
        self.retries += other.retries
        self.stalled += other.stalled
        self.failed += other.failed
        self.queued += other.queued
        self.messages += other.messages
        self.stale += other.stale


def advance_runs(services: Services, now: datetime) -> TickSummary:
    """Advances each active run by its due steps, saving each with optimistic concurrency.

    A run whose save conflicts was advanced by another tick or host at the same time: it is left
    alone until the next tick. Transient service errors are recorded on the run and retried
    later with backoff; they fail the run only past the retry policy's limit.
    """
    summary = TickSummary()
    # Runs are independent (each save is checked by its ETag), so a tick advances several at
    # once: with 1,000 active runs and ~50 ms per Azure call, one at a time overruns the
    # schedule. The steps of one run stay in order on one worker.
    runs = list(services.runs.active())
    # Room on each account is counted once for the whole tick, new runs are placed on an
    # account of the pool, and runs are admitted in the order they became ready
    # (shared.pipeline.placement, shared.runs.admission). Each run goes on with its account's
    # services.
    work = placement.plan(runs, services, now)
    fan_out = services.fan_out
    if fan_out is not None:
        due = [item for item in work if is_due(item[0], now, services.policy)]
        if fan_out.fans_out(len(due)):
            summary.runs, summary.queued = len(work), len(due)
            summary.messages = put_on_queue(due, fan_out, now, services.policy.tick_workers)
            logger.info(
                "Tick: %s active runs, %s due put on the runs queue in %s messages",
                summary.runs,
                summary.queued,
                summary.messages,
            )
            return summary
    summary, unexpected = _advance_all(
        work, lambda item: _advance_one(item[0], item[1], now, item[2]), services, "tick"
    )
    logger.info(
        "Tick: %s active runs, steps %s, %s transitions, %s conflicts, %s retries",
        summary.runs,
        dict(summary.steps),
        summary.transitions,
        summary.conflicts,
        summary.retries,
    )
    if unexpected is not None:
        raise unexpected
    return summary


def advance_queued(services: Services, message: str | bytes, now: datetime) -> TickSummary:
    """Advances the runs of one RUNS_QUEUE message as the tick that sent it would have.

    A run whose record is no longer the version the tick read is left alone: a duplicate
    delivery, or a run that another host, a dropped file or a request moved on since, waits
    for the next tick instead of being advanced twice. A malformed message raises
    `InvalidInput` (retrying would not mend it).
    """
    queued = from_message(message)
    summary, unexpected = _advance_all(
        queued, lambda item: _advance_queued(item, services, now), services, "queued"
    )
    logger.info(
        "Queued runs: %s advanced, %s stale, steps %s, %s transitions, %s conflicts",
        summary.runs,
        summary.stale,
        dict(summary.steps),
        summary.transitions,
        summary.conflicts,
    )
    if unexpected is not None:
        raise unexpected
    return summary


def _advance_all(
    items: Sequence[T],
    advance: Callable[[T], tuple[TickSummary, Exception | None]],
    services: Services,
    name: str,
) -> tuple[TickSummary, Exception | None]:
    """Advances every item, `tick_workers` at a time; the summed summary, and the first error
    no run expected, for the caller to raise once it has logged what the others did."""
    summary = TickSummary()
    unexpected: Exception | None = None
    workers = services.policy.tick_workers
    with ThreadPoolExecutor(workers, thread_name_prefix=name) as pool:
        for part, error in pool.map(advance, items):
            summary.add(part)
            if unexpected is None:
                unexpected = error
    return summary, unexpected


def _advance_queued(
    item: QueuedRun, services: Services, now: datetime
) -> tuple[TickSummary, Exception | None]:
    run = services.runs.unchanged(item.name, item.version)
    if run is None:
        logger.info("Run %s changed since its tick; left for the next one", item.name)
        return TickSummary(stale=1), None
    try:
        account = services_on(item.account, services)
    except AccountGone as exc:
        logger.info("Run %s: %s; the next tick records it", item.name, exc)
        return TickSummary(stale=1), None
    return _advance_one(run, account, now, item.decision)


def _advance_one(
    run: Run, services: Services, now: datetime, decision: Decision | None = None
) -> tuple[TickSummary, Exception | None]:
    part = TickSummary(runs=1)
    try:
        _advance(run, services, now, part, decision)
    except Conflict as exc:
        part.conflicts += 1
        logger.info("Run %s left for this tick: %s", run.name, exc)
    except Exception as exc:
        # Not swallowed: re-raised by the tick once the other runs have had their turn, so one
        # broken run cannot hold every other run back.
        logger.exception("Run %s: unexpected error; other runs go on", run.name)
        return part, exc
    return part, None


def _advance(
    run: Run,
    services: Services,
    now: datetime,
    summary: TickSummary,
    decision: Decision | None = None,
) -> None:
    policy = services.policy
    if is_stalled(run, now, policy):
        run.mark_stalled(now, policy.stalled_after_minutes)
        services.runs.save(run)
        summary.stalled.append(run.name)
        logger.warning("Run %s is stalled in %s", run.name, run.state.value)
    if note_deployed_retirement(run, services, now):
        services.runs.save(run)
    previous: Step | None = None
    for _ in range(MAX_STEPS_PER_RUN):
        step = next_step(run, now, policy)
        # Waiting, or the same poll again: the rest waits for the next tick.
        if isinstance(step, Nothing | WaitForFiles) or step == previous:
            return
        if not _has_room(run, services, now, decision):
            return
        _run_step(step, run, services, now, summary)
        previous = step


def _run_step(
    step: Step, run: Run, services: Services, now: datetime, summary: TickSummary
) -> None:
    policy = services.policy
    earlier = run.claim if run.claim is not None and run.claim.step == step.name else None
    claim = None
    if isinstance(step, CLAIMED_STEPS):
        run.claim_step(step.name, now)
        services.runs.save(run)
        claim = run.claim
    state_before, entries_before = run.state, len(run.timeline)
    unchanged = copy.deepcopy(run)
    summary.steps[step.name] += 1
    try:
        execute(step, run, services, now, earlier)
        if type(step) in ROOM_STEPS:
            waiting.room_taken(run, now)
    except DeploymentNotReady:
        logger.info("Run %s: deployment does not serve yet", run.name)
    except TransientServiceError as exc:
        summary.retries += 1
        # Retry-After counts from the answer, which came a while after the tick started.
        answered_at = max(now, services.clock())
        need = ROOM_STEPS.get(type(step))
        if isinstance(exc, NoRoom) and need is not None:
            logger.info("Run %s: %s refused, waiting for room: %s", run.name, step.name, exc)
            waiting.refused(
                run, need, step.name, str(exc), exc.retry_after, answered_at, policy.retry
            )
        else:
            logger.warning("Run %s: %s hit a transient error: %s", run.name, step.name, exc)
            run.transient_error(step.name, str(exc), exc.retry_after, answered_at, policy.retry)
    except (PermanentServiceError, NotFound) as exc:
        logger.warning("Run %s: %s failed: %s", run.name, step.name, exc)
        run.step_failed(step.name, str(exc), now, policy.retry)
    except Conflict as exc:
        # The step itself met a conflict (ARM's 409 on a deployment being deleted, a move the
        # run's state forbids): it may clear, so it is tried again with backoff, but it counts
        # toward the retry limit, past which the run fails with this reason instead of
        # retrying forever. A conflict saving the record is raised by the save below instead.
        summary.retries += 1
        logger.warning("Run %s: %s met a conflict: %s", run.name, step.name, exc)
        run.transient_error(step.name, str(exc), None, now, policy.retry)
    if run == unchanged:
        return  # a poll that learnt nothing new: no write, so idle runs cost one read a tick
    try:
        services.runs.save(run)
    except ConcurrentUpdate:
        if claim is not None:
            _release_claim(services, run.name, claim)
        raise
    if run.state is not state_before:
        summary.transitions += sum(
            1 for entry in run.timeline[entries_before:] if entry.from_state != entry.to_state
        )
        logger.info("Run %s: %s -> %s", run.name, state_before.value, run.state.value)
        if run.state.value == "failed":
            summary.failed.append(run.name)


def _release_claim(services: Services, name: str, claim: Claim) -> None:
    """Another writer (a dropped file, a cancel request) saved the run while a claimed step ran,
    so the step's outcome was not recorded. Releasing the claim lets the next tick do the step
    again at once, finding what this attempt created, instead of waiting out the claim's lease."""
    fresh = services.runs.find(name)
    if fresh is None or fresh.claim != claim:
        return
    fresh.release_claim(claim)
    try:
        services.runs.save(fresh)
    except ConcurrentUpdate:
        logger.info("Run %s changed again; its %s claim ends with its lease", name, claim.step)


def _has_room(run: Run, services: Services, now: datetime, decision: Decision | None) -> bool:
    """True when the run's next step takes no room, or the tick admitted it. A run that must
    wait records why (saved only when that changed, so a long queue costs no writes at rest)."""
    if need_of(run, now, services.policy) is None:
        return True
    if isinstance(decision, Admitted):
        waiting.admitted(run, now)
        return True
    if isinstance(decision, Waiting) and waiting.hold(run, decision, now):
        services.runs.save(run)
    return False
