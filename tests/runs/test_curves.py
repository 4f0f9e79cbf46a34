"""The results file and the overfitting verdict."""

from __future__ import annotations

import math
import random

import pytest

from shared.runs.curves import LossPoint, overfitting_verdict, parse_results


def points(train: list[float], valid: list[float | None]) -> list[LossPoint]:
    return [
        LossPoint(step, train_loss=t, valid_loss=v)
        for step, (t, v) in enumerate(zip(train, valid, strict=True), start=1)
    ]


def test_the_results_csv_is_read_with_missing_columns_and_blank_cells():
    text = (
        "\ufeffstep,train_loss,train_mean_token_accuracy,valid_loss,full_valid_loss\n"
        "2,1.5,0.5,,\n"
        "1,2.0,0.4,2.1,2.2\n"
        "x,1,1,1,1\n"
        "3,nan,0.6,1.7,\n"
    )
    assert parse_results(text) == [
        LossPoint(1, train_loss=2.0, train_accuracy=0.4, valid_loss=2.1, full_valid_loss=2.2),
        LossPoint(2, train_loss=1.5, train_accuracy=0.5),
        LossPoint(3, train_loss=None, train_accuracy=0.6, valid_loss=1.7),
    ]
    assert parse_results("") == []


def shaped(train, valid, epochs: int, per_epoch: int = 8, noise: float = 0.0) -> list[LossPoint]:
    """Curves as the service reports them: a row per step, mid-epoch losses measured on one
    mini-batch (noisy), the full validation loss at each epoch's last step."""
    rng = random.Random(7)
    rows = []
    for step in range(1, epochs * per_epoch + 1):
        at = step / per_epoch
        end = step % per_epoch == 0
        jitter = 0.0 if end else noise
        rows.append(
            LossPoint(
                step,
                train_loss=train(at) * (1 + rng.uniform(-jitter, jitter)),
                valid_loss=valid(at) * (1 + rng.uniform(-3 * jitter, 3 * jitter)),
                full_valid_loss=valid(at) if end else None,
            )
        )
    return rows


def falling(start: float, floor: float, rate: float = 1.0):
    return lambda epochs: floor + (start - floor) * math.exp(-rate * epochs)


def rising_after(start: float, floor: float, turn: float, slope: float):
    base = falling(start, floor)
    return lambda epochs: base(epochs) + slope * max(0.0, epochs - turn)


CURVES = {
    # Validation loss bottoms out at epoch 3 and climbs while training loss keeps falling.
    "rising": (
        shaped(falling(2.0, 0.1), rising_after(2.1, 0.6, 3, 0.12), epochs=10),
        "overfitting",
        ("rose", "step 24"),
        ("checkpoint nearest step 24", "n_epochs 3 instead of 10"),
    ),
    # The demo's sample: training loss ends near 0.19, validation flattens near 0.57.
    "flat with a wide gap": (
        shaped(falling(2.0, 0.17, 1.3), falling(2.1, 0.57, 1.6), epochs=3),
        "overfitting",
        ("is 2.", "memorizing"),
        ("fewer epochs",),
    ),
    "healthy": (
        shaped(falling(2.0, 0.9, 0.8), falling(2.1, 1.0, 0.8), epochs=4),
        "healthy",
        ("1.1x",),
        ("none needed",),
    ),
    # Mini-batch losses jump by up to a third; the epoch-end losses tell the trend.
    "noisy but healthy": (
        shaped(falling(2.0, 0.9, 0.8), falling(2.1, 1.0, 0.8), epochs=5, noise=0.1),
        "healthy",
        ("ends 0% above",),
        ("none needed",),
    ),
    "a gap to watch": (
        shaped(falling(2.0, 0.5, 1.0), falling(2.1, 0.75, 1.0), epochs=4),
        "watch",
        ("1.4x",),
        ("fewer epochs",),
    ),
}


@pytest.mark.parametrize("shape", list(CURVES))
def test_the_verdict_reads_both_the_rise_and_the_gap_of_curves_shaped_like_real_ones(shape):
    points, level, reasons, actions = CURVES[shape]
    verdict = overfitting_verdict(points)
    assert verdict.level == level, verdict.reason
    assert verdict.overfitting is (level == "overfitting")
    for words in reasons:
        assert words in verdict.reason
    for words in actions:
        assert words in verdict.action


def test_the_demo_samples_final_losses_are_called_overfitting_not_healthy():
    # Training loss 0.19, validation loss flat near 0.57: a ratio of 3.
    verdict = overfitting_verdict(points([1.9, 0.8, 0.19], [1.9, 0.58, 0.57]))
    assert verdict.level == "overfitting" and verdict.overfitting
    assert verdict.final_valid_train_ratio == pytest.approx(3.0, abs=0.01)
    assert "memorizing" in verdict.reason and "fewer epochs" in verdict.action


def test_tiny_losses_are_not_called_a_gap():
    verdict = overfitting_verdict(points([0.5, 0.1, 0.01], [0.5, 0.1, 0.03]))
    assert verdict.level == "healthy"


def test_validation_loss_rising_while_training_loss_falls_is_overfitting():
    verdict = overfitting_verdict(
        points([2.0, 1.6, 1.2, 0.9, 0.6, 0.4, 0.2], [2.0, 1.7, 1.5, 1.6, 1.8, 2.0, 2.2])
    )
    assert verdict.overfitting
    assert verdict.best_valid_step == 3
    assert verdict.reason.startswith(
        "validation loss rose 47% after step 3 while training loss fell 83%; "
    )
    assert verdict.final_valid_train_ratio == 11.0 and verdict.level == "overfitting"


def test_both_losses_falling_is_not_overfitting():
    verdict = overfitting_verdict(points([2.0, 1.5, 1.0, 0.8], [2.1, 1.7, 1.3, 1.1]))
    assert not verdict.overfitting
    assert verdict.best_valid_step == 4
    assert verdict.reason.startswith("validation loss ends 0% above its lowest point (step 4)")


def test_validation_loss_rising_with_training_loss_flat_is_not_called_overfitting():
    verdict = overfitting_verdict(points([1.0, 1.0, 1.0, 1.0], [1.0, 1.1, 1.2, 1.3]))
    assert not verdict.overfitting and verdict.best_valid_step == 1


def test_a_small_rise_under_the_threshold_is_only_worth_watching():
    verdict = overfitting_verdict(points([1.2, 1.0, 0.9, 0.85], [1.0, 0.9, 0.92, 0.95]))
    assert not verdict.overfitting and verdict.level == "watch"
    assert "checkpoint nearest step 2" in verdict.action


def test_full_validation_loss_is_preferred_when_present():
    series = [
        LossPoint(1, train_loss=2.0, valid_loss=9.0, full_valid_loss=2.0),
        LossPoint(2, train_loss=1.0, valid_loss=1.0, full_valid_loss=1.5),
        LossPoint(3, train_loss=0.5, valid_loss=0.5, full_valid_loss=2.5),
    ]
    verdict = overfitting_verdict(series)
    assert verdict.overfitting and verdict.best_valid_step == 2


def test_without_enough_validation_points_there_is_no_verdict():
    verdict = overfitting_verdict(points([2.0, 1.0, 0.5], [None, 1.0, None]))
    assert not verdict.overfitting
    assert verdict.reason == "not enough validation points to judge overfitting"
    assert verdict.level == "unknown" and "validation.jsonl" in verdict.action
    assert verdict.best_valid_step is None
