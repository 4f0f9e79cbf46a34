"""The evaluation flag on a run record. It lives with the record (`shared.runs.evaluation_flag`),
which the layers below the evaluation read; this name stays for the evaluation's own modules."""

from shared.runs.evaluation_flag import (
    DUE,
    MOVES,
    EvaluationFlag,
    EvaluationStatus,
    evaluation_due,
    moved,
)

__all__ = ["DUE", "MOVES", "EvaluationFlag", "EvaluationStatus", "evaluation_due", "moved"]
