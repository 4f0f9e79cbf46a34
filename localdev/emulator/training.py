"""Simulated training: resolved hyperparameters and deterministic loss curves.

Pure. The curves are drawn from a generator seeded by the job's seed, the training data's hash
and the hyperparameters, so the same inputs give the same numbers. Training loss keeps falling;
validation loss falls until a "sweet spot" that grows with the dataset (never before epoch 3),
then rises, so too many epochs on a small file show overfitting and three epochs do not.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

MAX_EPOCHS = 50
MAX_BATCH_SIZE = 256
CSV_COLUMNS = (
    "step",
    "train_loss",
    "train_mean_token_accuracy",
    "valid_loss",
    "valid_mean_token_accuracy",
    "full_valid_loss",
    "full_valid_mean_token_accuracy",
)


@dataclass(frozen=True)
class Hyperparameters:
    n_epochs: int
    batch_size: int
    learning_rate_multiplier: float


@dataclass(frozen=True)
class StepMetrics:
    """One row of results.csv; validation values are None without a validation file."""

    step: int
    train_loss: float
    train_mean_token_accuracy: float
    valid_loss: float | None = None
    valid_mean_token_accuracy: float | None = None
    full_valid_loss: float | None = None
    full_valid_mean_token_accuracy: float | None = None

    def as_metrics(self) -> dict[str, float]:
        return {k: float(v) for k in CSV_COLUMNS if (v := getattr(self, k)) is not None}


@dataclass(frozen=True)
class TrainingPlan:
    hyperparameters: Hyperparameters
    steps_per_epoch: int
    rows: tuple[StepMetrics, ...]

    @property
    def total_steps(self) -> int:
        return len(self.rows)

    def epoch_end(self, epoch: int) -> StepMetrics:
        return self.rows[epoch * self.steps_per_epoch - 1]


def resolve_hyperparameters(
    requested: Mapping[str, Any] | None, n_examples: int
) -> Hyperparameters:
    """Turns "auto" (or absent) values into the concrete ones the service would pick.

    Raises ValueError naming the bad field.
    """
    requested = requested or {}
    unknown = sorted(set(requested) - {"n_epochs", "batch_size", "learning_rate_multiplier"})
    if unknown:
        raise ValueError(f"hyperparameters has unknown fields: {', '.join(unknown)}")
    n_epochs = _value(requested, "n_epochs", int, 1, MAX_EPOCHS)
    batch_size = _value(requested, "batch_size", int, 1, MAX_BATCH_SIZE)
    multiplier = _value(requested, "learning_rate_multiplier", float, 0.0, 10.0)
    if n_epochs is None:
        n_epochs = min(25, max(3, math.ceil(100 / n_examples))) if n_examples < 100 else 3
    if batch_size is None:
        batch_size = max(1, min(MAX_BATCH_SIZE, round(n_examples * 0.002)))
    if multiplier is None:
        multiplier = 0.1 if batch_size < 8 else 0.2
    return Hyperparameters(int(n_epochs), int(batch_size), float(multiplier))


def _value(requested: Mapping[str, Any], name: str, kind: type, low: float, high: float) -> Any:
    value = requested.get(name, "auto")
    if value in ("auto", None, -1):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f'hyperparameters.{name} must be a number or "auto", not {value!r}')
    if kind is int and value != int(value):
        raise ValueError(f"hyperparameters.{name} must be a whole number, not {value}")
    if not (low < value <= high if kind is float else low <= value <= high):
        raise ValueError(f"hyperparameters.{name} must be between {low:g} and {high:g}")
    return kind(value)


def plan_training(
    hyper: Hyperparameters, *, n_train: int, n_valid: int, seed: int, fingerprint: str
) -> TrainingPlan:
    """Every step's metrics for a job, deterministic in (hyperparameters, data, seed)."""
    rng = random.Random(f"{seed}:{fingerprint}:{hyper}")
    steps_per_epoch = max(1, math.ceil(n_train / hyper.batch_size))
    start = rng.uniform(1.6, 2.4)
    floor = rng.uniform(0.15, 0.3)
    rate = 1.1 * min(2.0, max(0.5, hyper.learning_rate_multiplier / 0.1)) ** 0.3
    valid_start = start + rng.uniform(0.05, 0.2)
    valid_floor = floor * 1.6 + 0.1
    sweet_spot = 3.0 + n_train / 100

    def train_curve(epochs: float) -> float:
        return floor / (1 + 0.35 * epochs) + (start - floor) * math.exp(-rate * epochs)

    def valid_curve(epochs: float) -> float:
        overfit = 0.12 * max(0.0, epochs - sweet_spot) ** 1.3
        return valid_floor + (valid_start - valid_floor) * math.exp(-rate * epochs) + overfit

    rows = []
    for step in range(1, hyper.n_epochs * steps_per_epoch + 1):
        epochs = step / steps_per_epoch
        # Mid-epoch steps are noisy like real mini-batches; each epoch's last step (the one a
        # checkpoint reports) carries the smooth curve, so trends between epochs are exact.
        noisy = step % steps_per_epoch != 0
        train = train_curve(epochs) * (1 + rng.gauss(0, 0.03) * noisy)
        row = StepMetrics(step, round(train, 5), _accuracy(train))
        if n_valid:
            valid = valid_curve(epochs) * (1 + rng.gauss(0, 0.05) * noisy)
            row = replace(
                row, valid_loss=round(valid, 5), valid_mean_token_accuracy=_accuracy(valid)
            )
            if step % steps_per_epoch == 0:
                full = valid_curve(epochs)
                row = replace(
                    row,
                    full_valid_loss=round(full, 5),
                    full_valid_mean_token_accuracy=_accuracy(full),
                )
        rows.append(row)
    return TrainingPlan(hyper, steps_per_epoch, tuple(rows))


def _fields(row: StepMetrics) -> tuple[Any, ...]:
    return tuple(getattr(row, name) for name in CSV_COLUMNS)


def _accuracy(loss: float) -> float:
    return round(min(1.0, max(0.0, math.exp(-0.35 * loss))), 5)


def results_csv(plan: TrainingPlan) -> str:
    """results.csv as the service writes it: one row per step, blank where a value is absent."""
    lines = [",".join(CSV_COLUMNS)]
    for row in plan.rows:
        lines.append(",".join("" if v is None else str(v) for v in _fields(row)))
    return "\n".join(lines) + "\n"
