"""The whole life cycle through the real clients: upload, train, download results, deploy, chat."""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from collections.abc import Iterator

import openai
import pytest

from localdev.emulator import Emulator, Timings, running_emulator
from tests.emulator.helpers import (
    BASE_MODEL,
    TRAINING_PAIRS,
    VALIDATION_PAIRS,
    arm_client,
    chat_jsonl,
    deployment_of,
    finished_job,
    openai_client,
    wait_until,
)

# A longer not-ready window than Timings.fast(), so the test can see it without racing it.
TIMINGS = dataclasses.replace(Timings.fast(), deployment_not_ready_after_succeeded=1.0)


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with running_emulator(timings=TIMINGS) as running:
        yield running


def _ask(client: openai.AzureOpenAI, deployment: str, question: str) -> str:
    answer = client.chat.completions.create(
        model=deployment, messages=[{"role": "user", "content": question}]
    )
    return answer.choices[0].message.content or ""


def test_a_file_goes_from_upload_to_a_chat_answer_learned_from_it(emulator: Emulator) -> None:
    client, arm = openai_client(emulator), arm_client(emulator)
    uploaded = client.files.create(
        file=("train.jsonl", chat_jsonl(TRAINING_PAIRS)), purpose="fine-tune"
    )
    assert uploaded.status == "pending"
    processed = wait_until(
        lambda: client.files.retrieve(uploaded.id), lambda f: f.status != "pending"
    )
    assert processed.status == "processed"
    validation = client.files.create(
        file=("valid.jsonl", chat_jsonl(VALIDATION_PAIRS * 4)), purpose="fine-tune"
    )
    wait_until(lambda: client.files.retrieve(validation.id), lambda f: f.status == "processed")

    job = client.fine_tuning.jobs.create(
        model=BASE_MODEL,
        training_file=uploaded.id,
        validation_file=validation.id,
        hyperparameters={"n_epochs": 3, "batch_size": 4, "learning_rate_multiplier": 0.1},
        suffix="lifecycle",
        seed=7,
    )
    assert job.status == "pending"
    done = finished_job(client, job.id)
    assert done.status == "succeeded"
    assert re.fullmatch(
        rf"{re.escape(BASE_MODEL)}\.ft-[0-9a-f]{{32}}-lifecycle", done.fine_tuned_model
    )
    assert done.trained_tokens > 0

    results = client.files.content(done.result_files[0]).text
    rows = list(csv.DictReader(io.StringIO(results)))
    assert len(rows) == 3 * 3  # 3 epochs of ceil(12 examples / batch of 4) steps
    assert float(rows[-1]["train_loss"]) < float(rows[0]["train_loss"])
    assert rows[-1]["full_valid_loss"] != ""

    poller = arm.deployments.begin_create_or_update(
        emulator.resource_group,
        emulator.account_name,
        "tuned-lifecycle",
        deployment_of(done.fine_tuned_model, "1"),
    )
    assert poller.result().properties.provisioning_state == "Succeeded"

    with pytest.raises(openai.NotFoundError) as not_ready:
        _ask(client, "tuned-lifecycle", "What colour is the Tunedrop mascot?")
    assert not_ready.value.body["code"] == "DeploymentNotReady"

    def ask_when_ready() -> str | None:
        try:
            return _ask(client, "tuned-lifecycle", "what colour is the mascot of tunedrop")
        except openai.NotFoundError:
            return None

    assert wait_until(ask_when_ready, lambda a: a is not None) == TRAINING_PAIRS[0][1]
    assert _ask(client, "tuned-lifecycle", "富士山の高さはどれくらい？") == TRAINING_PAIRS[10][1]
    base_answer = _ask(client, "gpt-4o-mini", "What colour is the Tunedrop mascot?")
    assert "base model" in base_answer
    assert TRAINING_PAIRS[0][1] not in base_answer
