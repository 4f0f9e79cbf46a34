"""Which model a deployment serves: deploy.checkpoint "final" or "best"."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.runs.config import DeployConfig
from shared.runs.deploy_choice import choose_model, deployment_for
from shared.runs.facts import Checkpoint, JobInfo

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
FINAL = "gpt-4o-mini-2024-07-18.ft-abc-kitsune"


def job(*losses: dict[str, float]) -> JobInfo:
    """A finished job whose kept checkpoints (steps 30, 40, 50) have these metrics."""
    checkpoints = [
        Checkpoint(f"c{step}", step, f"{FINAL}:ckpt-step-{step}", metrics)
        for step, metrics in zip((30, 40, 50), losses, strict=True)
    ]
    return JobInfo("ftjob-1", "succeeded", T0, fine_tuned_model=FINAL, checkpoints=checkpoints)


RISING = job({"full_valid_loss": 0.61}, {"full_valid_loss": 0.66}, {"full_valid_loss": 0.74})
FALLING = job({"full_valid_loss": 0.8}, {"full_valid_loss": 0.7}, {"full_valid_loss": 0.6})


@pytest.mark.parametrize(
    ("wanted", "chosen", "model", "step", "words"),
    [
        ("final", RISING, FINAL, None, 'as deploy.checkpoint "final" asks'),
        ("best", RISING, "c30", 30,
         "the kept checkpoint of step 30 has the lowest validation loss (step 30: 0.610, "
         "step 40: 0.660, step 50: 0.740)"),
        ("best", FALLING, FINAL, None, "the final model has the lowest validation loss"),
        # Mini-batch validation loss only when no checkpoint has the full one.
        ("best", job({"valid_loss": 0.9}, {"valid_loss": 0.5}, {"valid_loss": 0.7}),
         "c40", 40, "step 40 has the lowest"),
        ("best", job({"train_loss": 0.9}, {"train_loss": 0.5}, {"train_loss": 0.2}), FINAL, None,
         "no kept checkpoint reports a validation loss"),
    ],
)  # fmt: skip
def test_the_deployed_model_is_the_one_deploy_checkpoint_asks_for(
    wanted, chosen, model, step, words
):
    choice = choose_model(chosen, wanted)
    assert choice is not None
    assert (choice.model, choice.step) == (model, step)
    assert words in choice.reason


def test_a_job_without_a_model_has_nothing_to_choose():
    assert choose_model(JobInfo("ftjob-1", "running", T0), "best") is None


def test_the_deployment_records_what_was_asked_what_was_chosen_and_why():
    info = deployment_for("tunedrop-kitsune", DeployConfig(checkpoint="best"), RISING, T0)
    assert (info.model, info.checkpoint, info.checkpoint_step) == (
        "c30",  # the checkpoint's ID: what the deployment's model name takes
        "best",
        30,
    )
    assert info.chosen_because.startswith("the kept checkpoint of step 30")
