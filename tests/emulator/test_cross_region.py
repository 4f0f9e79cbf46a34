"""Cross-region deployment between two emulated accounts: account B deploys a model fine-tuned
on account A when the deployment names A as the model's `source` (the fine-tuning deploy page's
example), through Tunedrop's own ARM adapter; without a source, or with an unknown one, B
refuses it as a model it does not know."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest

from localdev.emulator import Emulator, Timings, running_emulator
from localdev.pool import account_name, link_accounts
from shared.adapters.arm import ArmDeployments
from shared.errors import PermanentServiceError
from tests.emulator.helpers import (
    BASE_MODEL,
    TRAINING_PAIRS,
    arm_client,
    chat_jsonl,
    finished_job,
    openai_client,
    upload_processed,
    wait_until,
)


@pytest.fixture(scope="module")
def accounts() -> Iterator[tuple[Emulator, Emulator]]:
    with (
        running_emulator(timings=Timings.fast(), account_name=account_name(0)) as first,
        running_emulator(timings=Timings.fast(), account_name=account_name(1)) as second,
    ):
        link_accounts([first, second])
        yield first, second


@pytest.fixture(scope="module")
def tuned_on_first(accounts: tuple[Emulator, Emulator]) -> str:
    client = openai_client(accounts[0])
    training = upload_processed(client, chat_jsonl(TRAINING_PAIRS))
    job = client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=training)
    model = finished_job(client, job.id).fine_tuned_model
    assert model
    return str(model)


def _deployments(emulator: Emulator) -> ArmDeployments:
    return ArmDeployments(arm_client(emulator), emulator.resource_group, emulator.account_name)


def test_a_model_tuned_on_one_account_deploys_on_another_naming_its_source(
    accounts: tuple[Emulator, Emulator], tuned_on_first: str
) -> None:
    first, second = accounts
    deployments = _deployments(second)

    deployments.create("moved", tuned_on_first, "Standard", 1, {}, source=first.account_id)

    ready = wait_until(lambda: deployments.get("moved"), lambda d: d and d.state == "Succeeded")
    assert ready is not None and ready.model == tuned_on_first
    assert _deployments(first).get("moved") is None
    question, trained = TRAINING_PAIRS[0]
    client = openai_client(second)

    def reply() -> str | None:
        try:
            chat = client.chat.completions.create(
                model="moved", messages=[{"role": "user", "content": question}]
            )
        except openai.NotFoundError:  # ARM says Succeeded a moment before chat serves
            return None
        return chat.choices[0].message.content

    assert wait_until(reply, lambda answer: answer is not None) == trained  # learnt on the first


def test_without_a_source_the_other_account_does_not_know_the_model(
    accounts: tuple[Emulator, Emulator], tuned_on_first: str
) -> None:
    with pytest.raises(PermanentServiceError) as refused:
        _deployments(accounts[1]).create("unsourced", tuned_on_first, "Standard", 1, {})

    assert "DeploymentModelNotSupported" in str(refused.value)
    assert "is not supported or does not exist in this account" in str(refused.value)


def test_a_source_that_is_not_a_known_account_is_refused_naming_it(
    accounts: tuple[Emulator, Emulator], tuned_on_first: str
) -> None:
    stranger = accounts[0].account_id.replace(accounts[0].account_name, "stranger")
    with pytest.raises(PermanentServiceError) as refused:
        _deployments(accounts[1]).create(
            "strange", tuned_on_first, "Standard", 1, {}, source=stranger
        )

    assert f"its source '{stranger}'" in str(refused.value)


def test_a_model_the_source_does_not_hold_is_refused(
    accounts: tuple[Emulator, Emulator],
) -> None:
    missing = f"{BASE_MODEL}.ft-0000000000000000000000000000dead"
    with pytest.raises(PermanentServiceError) as refused:
        _deployments(accounts[1]).create(
            "missing", missing, "Standard", 1, {}, source=accounts[0].account_id
        )

    assert "does not exist in the source account" in str(refused.value)
