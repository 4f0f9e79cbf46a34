"""Training curves from the fine-tuning results file, and whether the model overfits.

The results file is a CSV with a header. Azure OpenAI writes the columns `step, train_loss,
train_mean_token_accuracy, valid_loss, valid_mean_token_accuracy, full_valid_loss,
full_valid_mean_token_accuracy`; any of them but `step` may be missing or blank in a row.

Overfitting verdict: validation loss rising while training loss falls. With the validation series
V (full_valid_loss where present, else valid_loss) and training series T, both smoothed by a
trailing mean over a tenth of the points:

- `best_valid_step` is the step of the lowest smoothed V;
- the model overfits when the final smoothed V is at least 10% above that minimum
  (`RISE_THRESHOLD`) AND the smoothed T fell by at least 5% (`FALL_THRESHOLD`) from the best
  step to the end; i.e. after the best point the model kept learning the training set while
  getting worse on held-out data;
- `final_valid_train_ratio` is final V / final T (well above 1 hints at memorisation too).

With fewer than 3 validation points (or no validation file) there is no verdict: `overfitting` is
False and the reason says why.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

RISE_THRESHOLD = 0.10
FALL_THRESHOLD = 0.05
MIN_POINTS = 3

# The service's metric names (results file columns, checkpoint metrics) -> LossPoint fields.
METRIC_FIELDS = {
    "train_loss": "train_loss",
    "train_mean_token_accuracy": "train_accuracy",
    "valid_loss": "valid_loss",
    "valid_mean_token_accuracy": "valid_accuracy",
    "full_valid_loss": "full_valid_loss",
    "full_valid_mean_token_accuracy": "full_valid_accuracy",
}


@dataclass(frozen=True)
class LossPoint:
    step: int
    train_loss: float | None = None
    train_accuracy: float | None = None
    valid_loss: float | None = None
    valid_accuracy: float | None = None
    full_valid_loss: float | None = None
    full_valid_accuracy: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LossPoint:
        return cls(**data)

    @classmethod
    def from_metrics(cls, step: int, metrics: Mapping[str, float]) -> LossPoint:
        """The point of a checkpoint's metrics, named as the service names them."""
        return cls(step, **{field: metrics.get(name) for name, field in METRIC_FIELDS.items()})


@dataclass(frozen=True)
class Verdict:
    overfitting: bool
    reason: str
    final_valid_train_ratio: float | None = None
    best_valid_step: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_results(text: str) -> list[LossPoint]:
    """The points of a results CSV, ordered by step; rows without a usable step are skipped."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    points: dict[int, LossPoint] = {}
    for row in reader:
        step = _number(row.get("step"))
        if step is None:
            continue
        values = {field: _number(row.get(column)) for column, field in METRIC_FIELDS.items()}
        points[int(step)] = LossPoint(step=int(step), **values)
    return [points[step] for step in sorted(points)]


def overfitting_verdict(points: Sequence[LossPoint]) -> Verdict:
    """Whether the curves show overfitting; see the module docstring for the rule."""
    pairs = [
        (point.step, valid, point.train_loss)
        for point in points
        if (valid := _valid_loss(point)) is not None and point.train_loss is not None
    ]
    if len(pairs) < MIN_POINTS:
        return Verdict(False, "not enough validation points to judge overfitting")
    window = max(1, len(pairs) // 10)
    valid = _trailing_mean([pair[1] for pair in pairs], window)
    train = _trailing_mean([pair[2] for pair in pairs], window)
    best = min(range(len(valid)), key=valid.__getitem__)
    best_step = pairs[best][0]
    ratio = valid[-1] / train[-1] if train[-1] > 0 else None
    rise = (valid[-1] - valid[best]) / valid[best] if valid[best] > 0 else 0.0
    fall = (train[best] - train[-1]) / train[best] if train[best] > 0 else 0.0
    if rise >= RISE_THRESHOLD and fall >= FALL_THRESHOLD:
        return Verdict(
            True,
            f"validation loss rose {rise:.0%} after step {best_step} while training loss "
            f"fell {fall:.0%}",
            ratio,
            best_step,
        )
    return Verdict(
        False,
        f"validation loss ends {rise:.0%} above its lowest point (step {best_step})",
        ratio,
        best_step,
    )


def _valid_loss(point: LossPoint) -> float | None:
    return point.full_valid_loss if point.full_valid_loss is not None else point.valid_loss


def _trailing_mean(values: list[float], window: int) -> list[float]:
    means = []
    for index in range(len(values)):
        recent = values[max(0, index - window + 1) : index + 1]
        means.append(sum(recent) / len(recent))
    return means


def _number(cell: str | None) -> float | None:
    if cell is None or not cell.strip():
        return None
    try:
        value = float(cell)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
