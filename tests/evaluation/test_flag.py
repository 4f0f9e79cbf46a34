"""The evaluation flag's moves: every illegal one is refused with a sentence."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.errors import IllegalTransition
from shared.evaluation.flag import MOVES, EvaluationStatus, evaluation_due, moved

E = EvaluationStatus
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_a_new_request_after_an_evaluation_starts_a_new_attempt_and_clears_the_verdict():
    flag = moved(None, E.EVALUATING, NOW, "started")
    flag.verdict, flag.headline = "generalizes", "generalizes: 3 of 3"
    flag = moved(flag, E.EVALUATED, NOW, "done")
    again = moved(flag, E.REQUESTED, NOW, "asked")
    assert (flag.attempt, again.attempt) == (1, 2)
    assert (again.verdict, again.headline) == ("", "")


@pytest.mark.parametrize(
    ("start", "target"),
    [(s, t) for s in [None, *E] for t in E if t not in MOVES[s]],
)
def test_every_illegal_move_is_refused(start, target):
    flag = None
    for step in {
        None: [],
        E.REQUESTED: [E.REQUESTED],
        E.EVALUATING: [E.EVALUATING],
        E.EVALUATED: [E.EVALUATING, E.EVALUATED],
        E.SKIPPED: [E.SKIPPED],
    }[start]:
        flag = moved(flag, step, NOW, "setup")  # fmt: skip
    with pytest.raises(IllegalTransition, match=f"cannot become {target.value}"):
        moved(flag, target, NOW, "no")


def test_an_evaluation_is_due_when_never_started_requested_or_under_way():
    assert evaluation_due(None, enabled=True) and not evaluation_due(None, enabled=False)
    evaluating = moved(None, E.EVALUATING, NOW, "started")
    assert evaluation_due(evaluating, enabled=False)
    assert not evaluation_due(moved(evaluating, E.EVALUATED, NOW, "done"), enabled=True)
