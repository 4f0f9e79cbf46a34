"""The run Tunedrop comes from, as data: GPT-4o, 24 Japanese questions about a novel's character
that all name him the same way (香坂 義孝), and 9 validation examples. Azure OpenAI accepted
both files; dropped into the inbox of a local host, the run must go all the way to `deployed`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from localdev.emulator import Emulator
from tests.e2e.pipeline_helpers import (
    CONFIG,
    TRAIN,
    VALIDATION,
    Drops,
    Ledger,
    ask,
    guarded_inbox,
    run_json,
    unique,
    wait_for,
)
from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e

STORY = Path(__file__).resolve().parents[1] / "data" / "kosaka"


@pytest.fixture
def drops(emulator: Emulator) -> Iterator[Drops]:
    with guarded_inbox(emulator) as guarded:
        yield guarded


def test_the_story_run_of_24_training_and_9_validation_examples_is_deployed(
    stack: Stack, drops: Drops
) -> None:
    ledger = Ledger(stack.emulator)
    run = unique("kosaka")
    train = (STORY / TRAIN).read_bytes()
    validation = (STORY / VALIDATION).read_bytes()
    drops.drop(stack, run, CONFIG, run_json(model="gpt-4o-2024-08-06", suffix="kosaka"))
    drops.drop(stack, run, TRAIN, train)
    drops.drop(stack, run, VALIDATION, validation)

    deployed = wait_for(stack, run, "deployed")
    assert deployed["failure_reason"] is None
    files = deployed["files"]
    assert (files[TRAIN]["valid"], files[TRAIN]["examples"]) == (True, 24)
    assert (files[VALIDATION]["valid"], files[VALIDATION]["examples"]) == (True, 9)
    # The lesson of the story, said before paying: one way of naming him in every prompt.
    report = json.loads(stack.reports.download_blob(files[TRAIN]["report"]).readall())
    [naming] = [w for w in report["warnings"] if w["code"] == "uniform_subject_naming"]
    assert naming["message"].startswith("24 of 24 training prompts name their subject as")
    assert '"香坂 義孝"' in naming["message"]

    # Both files went to the service, were processed, and the one job used both.
    uploaded = ledger.files(run)
    assert sorted(f.status for f in uploaded) == ["processed", "processed"]
    [job] = ledger.jobs(run)
    assert job.status == "succeeded" and job.validation_file is not None
    assert job.model == "gpt-4o-2024-08-06"

    first = json.loads(train.decode("utf-8").splitlines()[0])["messages"]
    assert ask(stack, run, first[1]["content"])["reply"] == first[2]["content"]
