"""Reading runs for the HTTP API: one run, a page of runs, a run's loss curve."""

from __future__ import annotations

from shared.errors import NotFound
from shared.pipeline.protocols import RunPage, RunStore
from shared.runs.curves import LossPoint
from shared.runs.names import check_run_name
from shared.runs.record import Run
from shared.runs.states import RunState

MAX_PAGE_SIZE = 100


def get_run(store: RunStore, name: str) -> Run:
    """The run called `name`; `InvalidInput` for a bad name, `NotFound` when there is none."""
    run = store.find(check_run_name(name))
    if run is None:
        raise NotFound(f"there is no run named {name!r}.")
    return run


def list_runs(
    store: RunStore,
    state: RunState | None = None,
    page_size: int = 50,
    continuation: str | None = None,
) -> RunPage:
    """Runs newest first (optionally those in `state`), `page_size` (1-100) at a time; pass
    the page's `continuation` to get the next page."""
    return store.page(state, max(1, min(page_size, MAX_PAGE_SIZE)), continuation)


def run_points(store: RunStore, name: str) -> list[LossPoint]:
    """The per-step training and validation loss of a run (empty before training reports)."""
    get_run(store, name)
    return store.points(name)
