"""Training curves from the fine-tuning results file, and whether the model overfits.

The results file is a CSV with a header. Azure OpenAI writes the columns `step, train_loss,
train_mean_token_accuracy, valid_loss, valid_mean_token_accuracy, full_valid_loss,
full_valid_mean_token_accuracy`; any of them but `step` may be missing or blank in a row.

Overfitting verdict. With the validation series V (full_valid_loss where present, else
valid_loss) and training series T, both smoothed by a trailing mean over a tenth of the points,
two signals are read:

- the rise: how far the final V ends above its lowest point (`best_valid_step`), counted only
  while T kept falling after that point (the model learnt the training set while getting worse
  on held-out data);
- the gap: final V / final T (`final_valid_train_ratio`). Common practice reads a ratio under
  about 1.2 as healthy and over 2 as severe: a model whose validation loss ends at three times
  its training loss is memorizing its examples even if its validation loss never rose. A gap
  under `MIN_GAP` in absolute loss is ignored (tiny losses make large ratios of nothing).

The level is `overfitting` when the rise is at least 10% (`RISE_THRESHOLD`, training loss having
fallen at least 5%) or the ratio is above 2 (`GAP_SEVERE`); `watch` when the rise is at least 5%
(`WATCH_RISE`) or the ratio at least 1.2 (`GAP_WATCH`); else `healthy`. `action` says what
helps: the kept checkpoint nearest the lowest validation loss (run.json `deploy.checkpoint:
"best"`) when the validation loss rose, fewer epochs in any case.

With fewer than 3 validation points (or no validation file) the level is `unknown`.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

RISE_THRESHOLD = 0.10
WATCH_RISE = 0.05
FALL_THRESHOLD = 0.05
GAP_WATCH = 1.2
GAP_SEVERE = 2.0
MIN_GAP = 0.05
MIN_POINTS = 3
HEALTHY, WATCH, OVERFITTING, UNKNOWN = "healthy", "watch", "overfitting", "unknown"

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
    """The overfitting verdict; `overfitting` is True exactly when `level` is "overfitting"."""

    overfitting: bool
    reason: str
    final_valid_train_ratio: float | None = None
    best_valid_step: int | None = None
    level: str = UNKNOWN
    action: str = ""
    valid_rise: float | None = None

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
    pairs, smoothed = _series(points)
    if len(pairs) < MIN_POINTS:
        return Verdict(
            False,
            "not enough validation points to judge overfitting",
            action="add a validation.jsonl of held-out examples to see whether the model overfits",
        )
    window = 1 if smoothed else max(1, len(pairs) // 10)
    valid = _trailing_mean([pair[1] for pair in pairs], window)
    train = _trailing_mean([pair[2] for pair in pairs], window)
    best = min(range(len(valid)), key=valid.__getitem__)
    best_step = pairs[best][0]
    ratio = valid[-1] / train[-1] if train[-1] > 0 else None
    rise = (valid[-1] - valid[best]) / valid[best] if valid[best] > 0 else 0.0
    fall = (train[best] - train[-1]) / train[best] if train[best] > 0 else 0.0
    gap = ratio if ratio is not None and valid[-1] - train[-1] >= MIN_GAP else None
    rising = rise >= RISE_THRESHOLD and fall >= FALL_THRESHOLD
    if rising or (gap is not None and gap > GAP_SEVERE):
        level = OVERFITTING
    elif rise >= WATCH_RISE or (gap is not None and gap >= GAP_WATCH):
        level = WATCH
    else:
        level = HEALTHY
    findings = [f"validation loss ends {rise:.0%} above its lowest point (step {best_step})"]
    if rising:
        findings = [
            f"validation loss rose {rise:.0%} after step {best_step} while training loss "
            f"fell {fall:.0%}"
        ]
    if ratio is not None:
        findings.append(
            f"final validation loss {valid[-1]:.2f} is {ratio:.1f}x training loss {train[-1]:.2f}"
        )
    if gap is not None and gap > GAP_SEVERE:
        findings.append("the model is memorizing its training examples")
    action = _action(level, rise, best_step, points)
    return Verdict(
        level == OVERFITTING, "; ".join(findings), ratio, best_step, level, action, round(rise, 4)
    )


def _action(level: str, rise: float, best_step: int, points: Sequence[LossPoint]) -> str:
    if level == HEALTHY:
        return "none needed"
    epoch_ends = [point.step for point in points if point.full_valid_loss is not None]
    fewer = "train again with fewer epochs"
    if epoch_ends and len(epoch_ends) > 1:
        best_epoch = max(1, sum(1 for step in epoch_ends if step <= best_step))
        if best_epoch < len(epoch_ends):
            fewer += f" (n_epochs {best_epoch} instead of {len(epoch_ends)})"
    if rise >= WATCH_RISE:
        return (
            f"deploy the kept checkpoint nearest step {best_step}, where validation loss was "
            f'lowest (run.json "deploy": {{"checkpoint": "best"}}), or {fewer}'
        )
    return f"{fewer}, or add more varied examples; no earlier checkpoint was better"


def _series(points: Sequence[LossPoint]) -> tuple[list[tuple[int, float, float]], bool]:
    """(step, validation loss, training loss) triples, and whether they are already smooth.

    With enough epoch ends (rows with full_valid_loss, the loss on the whole validation file)
    only those are used, each with the mean training loss of its epoch: the per-step
    valid_loss is measured on one mini-batch and can be far off (the service's own example shows
    10.1 next to a full validation loss of 0.57). Otherwise every row with both losses is used,
    to be smoothed by the caller.
    """
    full: list[tuple[int, float, float]] = []
    epoch_train: list[float] = []
    for point in points:
        if point.train_loss is not None:
            epoch_train.append(point.train_loss)
        if point.full_valid_loss is not None and epoch_train:
            full.append((point.step, point.full_valid_loss, sum(epoch_train) / len(epoch_train)))
            epoch_train = []
    if len(full) >= MIN_POINTS:
        return full, True
    pairs = [
        (point.step, valid, point.train_loss)
        for point in points
        if (valid := _valid_loss(point)) is not None and point.train_loss is not None
    ]
    return pairs, False


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
