"""Recording a run's wait for room on the account, and its end. Pure: changes the record only.

A run that starts waiting gets a timeline note and a `waiting_for_capacity` event; while it
waits, only its `capacity_wait.reason` follows the queue ("2 runs ahead", "1 run ahead"), so a
long queue does not flood the timeline. A refusal for a full quota sends the run back to
waiting, with a backoff before it asks again, and never counts toward the retry limit.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.runs.admission import Need, Waiting
from shared.runs.facts import CapacityWait, RetryState
from shared.runs.record import Run
from shared.runs.retry import RetryPolicy

WAITING_EVENT = "waiting_for_capacity"
REFUSED = "refused for a full quota"


def hold(run: Run, waiting: Waiting, now: datetime) -> bool:
    """Records that `run` waits as `waiting` says; True when the record changed."""
    text = waiting.describe()
    current = run.capacity_wait
    if current is None:
        run.capacity_wait = CapacityWait(waiting.need.value, now, text)
        run.note(now, text)
        run.raise_event(WAITING_EVENT, now, text, data={"waiting": _payload(waiting)})
        return True
    if current.reason == text:
        return False
    first_time = current.reason.startswith(REFUSED)
    current.reason = text
    run.updated_at = now
    if first_time:
        run.note(now, text)
        run.raise_event(WAITING_EVENT, now, text, data={"waiting": _payload(waiting)})
    return True


def admitted(run: Run, now: datetime) -> None:
    """The run got room: its wait ends with a note saying how long it lasted. After refusals
    the wait ends only once the step is done (`room_taken`), so their backoff keeps growing."""
    wait = run.capacity_wait
    if wait is not None and wait.refusals == 0:
        room_taken(run, now)


def room_taken(run: Run, now: datetime) -> None:
    """A step that takes room succeeded: any wait is over."""
    wait = run.capacity_wait
    if wait is None:
        return
    run.capacity_wait = None
    minutes = (now - wait.since).total_seconds() / 60
    run.note(now, f"room on the account found after waiting {minutes:.1f} min for {wait.need}")


def refused(
    run: Run,
    need: Need,
    step: str,
    message: str,
    retry_after: float | None,
    now: datetime,
    policy: RetryPolicy,
) -> None:
    """The service refused a step that takes room: the run waits for room again. The delay
    grows with each refusal in a row (as transient errors do) but the run never fails of it."""
    wait = run.capacity_wait or CapacityWait(need.value, now, "")
    wait.refusals += 1
    later = now + timedelta(seconds=policy.delay(wait.refusals, retry_after))
    wait.reason = f"{REFUSED}; asks for room again at {later:%H:%M:%S}"
    run.capacity_wait = wait
    previous = run.retry.attempts if run.retry and run.retry.step == step else 0
    run.retry = RetryState(step, previous, later, message)
    run.claim = None
    run.note(
        now,
        f"{step} will be tried again at {later:%H:%M:%S}: {message} (the account may be full: "
        f"the run waits for room; refusal {wait.refusals}, which never fails the run)",
    )


def _payload(waiting: Waiting) -> dict[str, object]:
    return {
        "for": waiting.what,
        "need": waiting.need.value,
        "in_use": waiting.in_use,
        "limit": waiting.limit,
        "runs_ahead": waiting.ahead,
    }
