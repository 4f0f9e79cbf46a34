"""The timer at scale: a tick with more due runs than one timer can advance within its period
puts them on RUNS_QUEUE, and a queue-triggered function advances them, so Azure Functions
spreads the work over its instances (the queue is the distributed engine; no scheduler of ours).

    FanOut(queue, above_runs)              where, and from how many due runs (`Services.fan_out`)
    is_due(run, now, policy)               whether a tick has anything to do for the run
    put_on_queue(work, fan_out, now)       the due runs, grouped by account, as messages

The tick still does what needs the whole picture (placing new runs on accounts, counting each
account once, the admission decisions) and sends those decisions with the runs; each queued run
is then advanced exactly as the timer would, under the same claim and ETag rules.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from shared.pipeline.run_messages import QueuedRun, to_messages
from shared.runs.plan import Nothing, RunPolicy, WaitForFiles, is_stalled, next_step
from shared.runs.record import Run
from shared.runs.states import RunState

if TYPE_CHECKING:
    from shared.pipeline.placement import Work
    from shared.pipeline.services import Services


class RunQueue(Protocol):
    """RUNS_QUEUE, as the Functions host reads it (base64 text)."""

    def send(self, message: str) -> None: ...


@dataclass(frozen=True)
class FanOut:
    queue: RunQueue
    above_runs: int | None
    """A tick with more due runs than this puts them on the queue; None: never."""

    def fans_out(self, due_runs: int) -> bool:
        return self.above_runs is not None and due_runs > self.above_runs


def is_due(run: Run, now: datetime, policy: RunPolicy) -> bool:
    """True when a tick would do something for `run` now: a step is due, the run has just
    stalled, or it is deployed (its deployment's retirement and idle time are checked)."""
    if run.state is RunState.DEPLOYED or is_stalled(run, now, policy):
        return True
    return not isinstance(next_step(run, now, policy), Nothing | WaitForFiles)


def put_on_queue(work: Sequence[Work], fan_out: FanOut, now: datetime, workers: int) -> int:
    """Sends the runs of `work`, each account's in messages of their own; the message count."""
    by_account: dict[str | None, list[QueuedRun]] = defaultdict(list)
    for run, services, decision in work:
        account = _account_name(run, services)
        by_account[account].append(QueuedRun(run.name, run.version, account, decision))
    messages = [text for queued in by_account.values() for text in to_messages(queued, now)]
    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="fan-out") as pool:
        list(pool.map(fan_out.queue.send, messages))
    return len(messages)


def _account_name(run: Run, services: Services) -> str | None:
    """The pool account whose services the tick gave the run (the run's own, or the first
    account for a run that has none yet); None without a pool."""
    pool = services.accounts
    if pool is None:
        return None
    return run.account or pool.first
