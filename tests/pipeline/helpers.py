"""Shared steps of the service tests: dropping files and ticking the clock."""

from __future__ import annotations

from shared.pipeline import DropOutcome, TickSummary, advance_runs, handle_dropped_blob
from shared.pipeline.services import Services
from shared.runs.states import RunState
from tests.pipeline.fakes import Clock


def drop(services: Services, blob_name: str, data: bytes) -> DropOutcome:
    services.inbox.put(blob_name, data)  # type: ignore[attr-defined]
    return handle_dropped_blob(services, blob_name, services.clock())


def tick(services: Services, seconds: float = 30) -> TickSummary:
    clock = services.clock
    assert isinstance(clock, Clock)
    return advance_runs(services, clock.advance(seconds))


def tick_until(services: Services, run: str, state: RunState, ticks: int = 40) -> list[RunState]:
    """Ticks until the run reaches `state`; returns the states seen after each tick."""
    seen = []
    for _ in range(ticks):
        tick(services)
        current = services.runs.find(run).state  # type: ignore[union-attr]
        seen.append(current)
        if current is state:
            return seen
    raise AssertionError(f"run {run} never became {state.value}; states: {seen}")
