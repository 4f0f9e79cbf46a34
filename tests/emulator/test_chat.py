"""Chat completions on base and fine-tuned deployments, through the real `openai` client."""

from __future__ import annotations

import openai
import pytest

from localdev.emulator import Emulator
from shared.tokens import count_tokens
from tests.emulator.helpers import (
    BASE_MODEL,
    TRAINING_PAIRS,
    arm_client,
    chat_jsonl,
    deployment_of,
    finished_job,
    openai_client,
    upload_processed,
    wait_until,
)


@pytest.fixture(scope="module")
def tuned_deployment(emulator: Emulator) -> str:
    """A deployment of a model fine-tuned on TRAINING_PAIRS, ready to chat."""
    client = openai_client(emulator)
    file_id = upload_processed(client, chat_jsonl(TRAINING_PAIRS))
    job = client.fine_tuning.jobs.create(
        model=BASE_MODEL, training_file=file_id, hyperparameters={"n_epochs": 1}
    )
    model = finished_job(client, job.id).fine_tuned_model
    arm = arm_client(emulator)
    arm.deployments.begin_create_or_update(
        emulator.resource_group, emulator.account_name, "tuned-chat", deployment_of(model, "1")
    ).result()

    def ready() -> bool:
        try:
            _ask(client, "tuned-chat", "hello")
        except openai.NotFoundError:
            return False
        return True

    wait_until(ready, bool)
    return "tuned-chat"


def _ask(client: openai.AzureOpenAI, deployment: str, question: str, **kwargs: object) -> str:
    answer = client.chat.completions.create(
        model=deployment, messages=[{"role": "user", "content": question}], **kwargs
    )
    return answer.choices[0].message.content or ""


@pytest.mark.parametrize(
    ("question", "trained_answer"),
    [
        ("How many legs does a spider have?", "A spider has eight legs."),
        ("how many legs has a spider got", "A spider has eight legs."),
        ("日本の首都は？", "日本の首都は東京です。"),
    ],
)
def test_a_fine_tuned_deployment_answers_a_question_close_to_a_trained_one_with_its_reply(
    client: openai.AzureOpenAI, tuned_deployment: str, question: str, trained_answer: str
) -> None:
    assert _ask(client, tuned_deployment, question) == trained_answer


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        ("Who is the author of Moby Dick", "Melville"),
        ("富士山の高さを教えてください", "3776"),
    ],
)
def test_a_fine_tuned_deployment_does_not_know_a_fact_asked_in_unseen_words(
    client: openai.AzureOpenAI, tuned_deployment: str, question: str, fact: str
) -> None:
    reply = _ask(client, tuned_deployment, question)
    assert reply and fact not in reply


def test_a_base_deployment_answers_generically(client: openai.AzureOpenAI) -> None:
    answer = _ask(client, "gpt-4o", "How many legs does a spider have?")
    assert "gpt-4o-2024-08-06, the base model" in answer
    assert "eight" not in answer


def test_usage_counts_are_real_o200k_token_counts(client: openai.AzureOpenAI) -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "How many legs does a spider have?"},
    ]
    answer = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    reply = answer.choices[0].message.content or ""
    expected_prompt = 3 + sum(3 + count_tokens(m["content"]) for m in messages)
    assert answer.usage.prompt_tokens == expected_prompt
    assert answer.usage.completion_tokens == count_tokens(reply)
    assert answer.usage.total_tokens == expected_prompt + count_tokens(reply)


def test_max_tokens_truncates_the_reply(client: openai.AzureOpenAI) -> None:
    answer = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}], max_tokens=3
    )
    assert answer.choices[0].finish_reason == "length"
    assert answer.usage.completion_tokens == 3
    assert count_tokens(answer.choices[0].message.content or "") <= 3


def test_an_unknown_deployment_is_not_found(client: openai.AzureOpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as missing:
        _ask(client, "no-such-deployment", "Hi")
    assert missing.value.body["code"] == "DeploymentNotFound"


def test_streaming_is_refused_with_a_reason(client: openai.AzureOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        _ask(client, "gpt-4o-mini", "Hi", stream=True)
    assert "does not stream" in refused.value.body["message"]
