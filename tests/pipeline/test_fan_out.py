"""The timer at scale: past FAN_OUT_ABOVE_RUNS due runs, a tick puts them on the runs queue and
the queue trigger advances them, each run once per tick, none left out."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from shared.errors import InvalidInput
from shared.pipeline import advance_queued, advance_runs
from shared.pipeline.fan_out import FanOut
from shared.pipeline.run_messages import RUNS_PER_MESSAGE, QueuedRun, from_message, to_messages
from shared.pipeline.services import Services
from shared.runs.admission import Admitted, Need, Waiting
from shared.runs.limits import AccountLimits
from shared.runs.states import RunState
from tests.pipeline.data import RUN_JSON, TRAIN, VALIDATION
from tests.pipeline.fakes import fake_services
from tests.pipeline.helpers import drop, tick

S = RunState


class ListQueue:
    """The runs queue as a list: what a tick sent, in order."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def send(self, message: str) -> None:
        self.messages.append(message)

    def take(self) -> list[str]:
        taken, self.messages = self.messages, []
        return taken


ROOMY = AccountLimits(running_jobs=1_000, queued_jobs=1_000, total_jobs=1_000, files=1_000)


def fanning_services(
    above_runs: int | None = 0, limits: AccountLimits = ROOMY
) -> tuple[Services, ListQueue]:
    queue = ListQueue()
    services = fake_services(fan_out=FanOut(queue, above_runs))
    return replace(services, policy=replace(services.policy, limits=limits)), queue


def drop_runs(services: Services, count: int) -> list[str]:
    names = [f"run-{n:03d}" for n in range(count)]
    for name in names:
        drop(services, f"{name}/run.json", RUN_JSON)
        drop(services, f"{name}/train.jsonl", TRAIN)
        drop(services, f"{name}/validation.jsonl", VALIDATION)
    return names


def states(services: Services, names: list[str]) -> dict[str, RunState]:
    return {name: services.runs.get(name).state for name in names}  # type: ignore[attr-defined]


def test_a_tick_past_the_threshold_queues_every_due_run_and_advances_none_itself() -> None:
    services, queue = fanning_services(above_runs=2)
    names = drop_runs(services, 3)

    summary = tick(services)

    assert (summary.queued, summary.messages) == (3, 1)
    assert set(states(services, names).values()) == {S.WAITING_FOR_FILES}
    assert services.fine_tuning.uploads == 0  # type: ignore[attr-defined]
    queued = [item.name for text in queue.messages for item in from_message(text)]
    assert sorted(queued) == names


def test_at_or_below_the_threshold_the_timer_advances_the_runs_itself() -> None:
    services, queue = fanning_services(above_runs=3)
    names = drop_runs(services, 3)

    summary = tick(services)

    assert summary.queued == 0 and queue.messages == []
    assert S.WAITING_FOR_FILES not in states(services, names).values()
    assert services.fine_tuning.jobs_created == 3  # type: ignore[attr-defined]


def test_never_keeps_every_run_on_the_timer() -> None:
    services, queue = fanning_services(above_runs=None)
    drop_runs(services, 3)
    assert tick(services).queued == 0 and queue.messages == []


def test_every_queued_run_is_advanced_once_by_the_queue_trigger() -> None:
    services, queue = fanning_services()
    names = drop_runs(services, RUNS_PER_MESSAGE + 3)  # two messages
    tick(services)
    messages = queue.take()
    assert len(messages) == 2

    advanced = [advance_queued(services, text, services.clock()) for text in messages]

    assert sum(part.runs for part in advanced) == len(names)
    assert S.WAITING_FOR_FILES not in states(services, names).values(), "a run was left out"
    assert services.fine_tuning.jobs_created == len(names)  # type: ignore[attr-defined]


def test_a_message_delivered_twice_advances_its_runs_once() -> None:
    services, queue = fanning_services()
    names = drop_runs(services, 2)
    tick(services)
    [message] = queue.take()
    advance_queued(services, message, services.clock())
    before = {name: services.runs.get(name).version for name in names}  # type: ignore[attr-defined]
    calls = services.fine_tuning.jobs_created  # type: ignore[attr-defined]

    services.clock.advance(3600)  # type: ignore[attr-defined]  # every poll would be due again
    again = advance_queued(services, message, services.clock())

    assert (again.runs, again.stale) == (0, 2)
    assert {n: services.runs.get(n).version for n in names} == before  # type: ignore[attr-defined]
    assert services.fine_tuning.jobs_created == calls  # type: ignore[attr-defined]


def test_a_run_moved_on_since_its_tick_waits_for_the_next_tick() -> None:
    services, queue = fanning_services()
    drop_runs(services, 1)
    tick(services)
    [message] = queue.take()
    advance_runs(replace(services, fan_out=None), services.clock())  # another host's timer

    assert advance_queued(services, message, services.clock()).stale == 1
    tick(services)
    assert queue.messages, "the next tick did not queue the run again"


def test_the_ticks_admission_decision_travels_with_the_run() -> None:
    services, queue = fanning_services(limits=AccountLimits(total_jobs=1))
    names = drop_runs(services, 2)
    tick(services)
    for text in queue.take():
        advance_queued(services, text, services.clock())

    runs = [services.runs.get(name) for name in names]  # type: ignore[attr-defined]
    assert services.fine_tuning.jobs_created == 1  # type: ignore[attr-defined]
    assert [run.capacity_wait is not None for run in runs] == [False, True]
    assert "waiting for a job slot: 1 of 1" in runs[1].capacity_wait.reason


def test_runs_that_are_only_waiting_for_files_are_not_queued() -> None:
    services, queue = fanning_services()
    drop(services, "alone/train.jsonl", TRAIN)  # waits the settle time for its validation file
    tick(services, seconds=1)
    assert queue.messages == []


def test_a_message_not_written_by_a_tick_is_refused_with_a_reason() -> None:
    services, _ = fanning_services()
    for text, reason in [
        ("not json", "must be JSON"),
        (json.dumps({"runs": []}), "format"),
        (
            json.dumps({"format": "tunedrop.runs/1", "runs": [{"run": "a"}]}),
            r"runs\[0\] needs 'run'",
        ),
    ]:
        with pytest.raises(InvalidInput, match=reason):
            advance_queued(services, text, services.clock())


def test_messages_round_trip_decisions_and_split_by_count() -> None:
    waiting = Waiting(Need.DEPLOYMENT, "a deployment slot", 10, 10, 3)
    queued = [
        QueuedRun(f"r{n}", f"v{n}", "east", waiting if n % 2 else Admitted()) for n in range(5)
    ]
    texts = to_messages(queued, fake_services().clock(), per_message=2)
    assert len(texts) == 3
    assert [item for text in texts for item in from_message(text)] == queued
