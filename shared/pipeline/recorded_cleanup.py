"""Cleaning up after runs recorded before Tunedrop deleted its files from the service.

Active runs need nothing: the timer deletes their files once their job is over. A run that had
already finished (succeeded without a deployment, expired, failed, cancelled) is not read by the
timer, so its files stay until its record is saved again. `reactivate_finished_runs` reads every
run once and saves each one that still has recorded files on the service: the save puts it back
among the active runs, and the next ticks delete those files (only the ids it recorded) with a
note each, then let it rest again.

    python -m shared.pipeline.recorded_cleanup     # with the app's settings in the environment
"""

from __future__ import annotations

import logging

from shared.errors import ConcurrentUpdate
from shared.pipeline.services import Services
from shared.runs import cleanup

logger = logging.getLogger(__name__)
PAGE_SIZE = 100


def reactivate_finished_runs(services: Services) -> list[str]:
    """Saves every finished run whose recorded files wait for deletion; returns their names."""
    woken: list[str] = []
    continuation: str | None = None
    while True:
        page = services.runs.page(None, PAGE_SIZE, continuation)
        for summary in page.runs:
            run = services.runs.find(summary.name)
            if run is None or run.cleanup is not None or not cleanup.pending(run):
                continue
            try:
                services.runs.save(run)  # now active: the timer deletes its files
            except ConcurrentUpdate:
                logger.info("Run %s changed meanwhile; the timer sees it anyway", run.name)
                continue
            woken.append(run.name)
        continuation = page.continuation
        if not continuation:
            return woken


def main() -> None:  # pragma: no cover - a command for operators
    from shared.bootstrap import services

    logging.basicConfig(level=logging.INFO)
    woken = reactivate_finished_runs(services())
    print(f"{len(woken)} finished run(s) will have their files deleted by the next ticks")


if __name__ == "__main__":  # pragma: no cover
    main()
