"""What callers ask of the evaluation: a new one (POST .../evaluate), the report (GET
.../evaluation, the run page)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared.errors import Conflict, NotFound
from shared.evaluation.flag import EvaluationStatus, moved
from shared.evaluation.report import summary_view
from shared.evaluation.sources import markdown_path, report_path
from shared.pipeline.commands import change_run
from shared.runs.record import Run
from shared.runs.states import RunState

if TYPE_CHECKING:
    from shared.pipeline.services import Services

E = EvaluationStatus


def request_evaluation(services: Services, name: str, now: datetime) -> Run:
    """Asks for a new evaluation of a deployed run (POST /api/runs/<run>/evaluate); the timer
    carries it out. Idempotent while one is requested. Raises `Conflict` when the run is not
    deployed or evaluation is turned off, `NotFound` for an unknown run."""
    if services.evaluation is None or not services.policy.evaluate:
        raise Conflict("evaluation is turned off (EVAL_ENABLED is false).")

    def ask(run: Run) -> bool:
        if run.state is not RunState.DEPLOYED:
            raise Conflict(
                f"run {name!r} cannot be evaluated: it is {run.state.value}; only a deployed "
                "model can be evaluated."
            )
        if run.evaluation is not None and run.evaluation.status is E.REQUESTED:
            return False
        flag = moved(run.evaluation, E.REQUESTED, now, "requested")
        run.evaluation_changed(flag, now, "evaluation requested")
        return True

    return change_run(services, name, ask)


def read_report(services: Services, run: Run) -> dict[str, Any]:
    """The run's evaluation report, with the flag's summary on top (GET .../evaluation).
    Raises `NotFound` when the run has no evaluation yet."""
    flag = run.evaluation
    kit = services.evaluation
    if flag is None or kit is None:
        raise NotFound(f"run {run.name!r} has not been evaluated.")
    report = kit.reports.read_json(report_path(run.name)) if flag.report else None
    if report is None:
        raise NotFound(f"run {run.name!r} has no evaluation report yet ({flag.status.value}).")
    summary = summary_view(flag, {})
    summary.pop("report", None)
    return {"evaluation": summary, "markdown": markdown_path(run.name), **report}


def evaluation_report(services: Services, run: Run) -> dict[str, Any] | None:
    """The run's saved evaluation report, or None (for the run page)."""
    if run.evaluation is None or services.evaluation is None or not run.evaluation.report:
        return None
    return services.evaluation.reports.read_json(report_path(run.name))
