"""The results file and the overfitting verdict."""

from __future__ import annotations

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


def test_validation_loss_rising_while_training_loss_falls_is_overfitting():
    verdict = overfitting_verdict(
        points([2.0, 1.6, 1.2, 0.9, 0.6, 0.4, 0.2], [2.0, 1.7, 1.5, 1.6, 1.8, 2.0, 2.2])
    )
    assert verdict.overfitting
    assert verdict.best_valid_step == 3
    assert verdict.reason == "validation loss rose 47% after step 3 while training loss fell 83%"
    assert verdict.final_valid_train_ratio == 11.0


def test_both_losses_falling_is_not_overfitting():
    verdict = overfitting_verdict(points([2.0, 1.5, 1.0, 0.8], [2.1, 1.7, 1.3, 1.1]))
    assert not verdict.overfitting
    assert verdict.best_valid_step == 4
    assert verdict.reason == "validation loss ends 0% above its lowest point (step 4)"


def test_validation_loss_rising_with_training_loss_flat_is_not_called_overfitting():
    verdict = overfitting_verdict(points([1.0, 1.0, 1.0, 1.0], [1.0, 1.1, 1.2, 1.3]))
    assert not verdict.overfitting and verdict.best_valid_step == 1


def test_a_small_rise_under_the_threshold_is_not_overfitting():
    verdict = overfitting_verdict(points([2.0, 1.0, 0.5, 0.4], [1.0, 0.9, 0.92, 0.95]))
    assert not verdict.overfitting


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
    assert verdict.best_valid_step is None
