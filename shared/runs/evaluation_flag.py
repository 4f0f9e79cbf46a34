"""The evaluation flag on a run record: where the run's evaluation stands. Pure.

    (none) ─▶ evaluating ─▶ evaluated
       │          ▲  │           │
       ▼          │  ▼           ▼
    skipped ─▶ requested ◀───────┘   (POST /api/runs/<run>/evaluate asks for a new one)

A run in `deployed` gets a flag when its evaluation starts (or is skipped because run.json says
`"evaluate": false`); every move of the flag is recorded in the run's timeline like a state
change. The full report lives in the reports container; the flag carries its summary.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from shared.errors import IllegalTransition


class EvaluationStatus(StrEnum):
    REQUESTED = "requested"
    EVALUATING = "evaluating"
    EVALUATED = "evaluated"
    SKIPPED = "skipped"


E = EvaluationStatus
MOVES: Mapping[EvaluationStatus | None, frozenset[EvaluationStatus]] = {
    None: frozenset({E.EVALUATING, E.SKIPPED, E.REQUESTED}),
    E.REQUESTED: frozenset({E.EVALUATING, E.SKIPPED}),
    E.EVALUATING: frozenset({E.EVALUATED, E.REQUESTED}),
    E.EVALUATED: frozenset({E.REQUESTED}),
    E.SKIPPED: frozenset({E.REQUESTED}),
}
DUE = frozenset({E.REQUESTED, E.EVALUATING})


@dataclass
class EvaluationFlag:
    status: EvaluationStatus
    attempt: int
    changed_at: datetime
    reason: str = ""
    report: str = ""
    """Path of the JSON report in the reports container."""
    verdict: str = ""
    headline: str = ""
    action: str = ""
    progress: str = ""
    estimated_tokens: int = 0
    estimated_usd: float | None = None
    scores: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvaluationFlag:
        known = set(cls.__dataclass_fields__)
        values = {key: value for key, value in data.items() if key in known}
        values["status"] = EvaluationStatus(values["status"])
        values["changed_at"] = datetime.fromisoformat(values["changed_at"])
        return cls(**values)


def moved(
    flag: EvaluationFlag | None, target: EvaluationStatus, now: datetime, reason: str
) -> EvaluationFlag:
    """The flag after moving to `target`; raises `IllegalTransition` for a move it forbids.
    A request for a new evaluation starts a new attempt."""
    current = flag.status if flag is not None else None
    if target not in MOVES[current]:
        shown = current.value if current else "not evaluated"
        raise IllegalTransition(f"the evaluation cannot become {target.value} from {shown}.")
    attempt = flag.attempt if flag is not None else 1
    if target is E.REQUESTED and flag is not None:
        attempt += 1
    base = flag if flag is not None else EvaluationFlag(target, attempt, now)
    return EvaluationFlag(
        status=target,
        attempt=attempt,
        changed_at=now,
        reason=reason,
        report=base.report,
        verdict="" if target is E.REQUESTED else base.verdict,
        headline="" if target is E.REQUESTED else base.headline,
        action="" if target is E.REQUESTED else base.action,
        progress=base.progress,
        estimated_tokens=base.estimated_tokens,
        estimated_usd=base.estimated_usd,
        scores=[] if target is E.REQUESTED else list(base.scores),
    )


def evaluation_due(flag: EvaluationFlag | None, enabled: bool) -> bool:
    """True when a deployed run's evaluation should start or go on: it never started (and the
    app evaluates), was requested, or is under way."""
    if flag is None:
        return enabled
    return flag.status in DUE
