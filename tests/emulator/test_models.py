"""The emulated grader and structured output, through the real `openai` client: what lets the
evaluation's verdicts happen locally, deterministically, in the shapes the service uses."""

from __future__ import annotations

import dataclasses
import json

import openai
import pytest

from localdev.emulator import Timings, running_emulator
from shared.evaluation.judging import (
    JUDGE_SCHEMA,
    PARAPHRASE_SCHEMA,
    judge_messages,
    paraphrase_messages,
    parse_judgement,
    parse_paraphrases,
)
from shared.evaluation.probes import Probe, ProbeSet
from tests.emulator.helpers import openai_client

SYSTEM = (
    "あなたは小説の主人公、香坂 義孝（こうさか よしたか）について答えます。"
    "友人からは「ヨシ」と呼ばれています。"
)
PROBE = Probe(
    "t1",
    ProbeSet.TRAINED,
    (
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": "香坂義孝の好きな食べ物は何ですか？"},
    ),
    "鯖の味噌煮です。毎週金曜日に自分で煮ています。",
)


def grade(client: openai.AzureOpenAI, messages, schema) -> str:
    answer = client.chat.completions.create(
        model="gpt-4o", messages=messages, temperature=0, seed=1, response_format=schema
    )
    return answer.choices[0].message.content or ""


def test_the_grader_names_the_subject_every_way_people_do(client: openai.AzureOpenAI) -> None:
    content = grade(client, paraphrase_messages(PROBE, 7), PARAPHRASE_SCHEMA)
    found = {c.variation: c for c in parse_paraphrases(content)}
    assert set(found) == {
        "wording", "politeness", "surname_only", "given_name_only", "kana_reading",
        "nickname", "pronoun_follow_up",
    }  # fmt: skip
    assert "香坂さん" in found["surname_only"].question
    assert "義孝さん" in found["given_name_only"].question
    assert "こうさかよしたか" in found["kana_reading"].question
    assert "ヨシ" in found["nickname"].question
    follow_up = found["pronoun_follow_up"]
    assert follow_up.question.startswith("ねえ、彼の") and "香坂義孝" in follow_up.lead_in
    assert all("香坂義孝" not in found[v].question for v in ("surname_only", "nickname"))
    # Deterministic: the same request gets the same paraphrases.
    assert grade(client, paraphrase_messages(PROBE, 7), PARAPHRASE_SCHEMA) == content


@pytest.mark.parametrize(
    ("reply", "statuses", "passed"),
    [
        ("鯖の味噌煮です。毎週金曜日に自分で煮ています。", ["present", "present"], True),
        ("うーん、ちょっとわからないなあ。", ["missing", "missing"], False),
        ("鯖の味噌煮です。", ["present", "missing"], False),
    ],
)
def test_the_grader_judges_by_key_facts(
    client: openai.AzureOpenAI, reply: str, statuses: list[str], passed: bool
) -> None:
    content = grade(client, judge_messages(PROBE.question, PROBE.reference, reply), JUDGE_SCHEMA)
    judgement = parse_judgement(content)
    assert [fact.status for fact in judgement.facts] == statuses
    assert judgement.passed is passed


def test_a_different_number_is_a_contradicted_fact(client: openai.AzureOpenAI) -> None:
    messages = judge_messages("階段は何段？", "灯台の階段は112段です。", "灯台の階段は98段です。")
    judgement = parse_judgement(grade(client, messages, JUDGE_SCHEMA))
    assert judgement.contradicted == ["灯台の階段は112段です"]


def test_another_schema_gets_its_smallest_valid_instance(client: openai.AzureOpenAI) -> None:
    schema = {
        "type": "json_schema",
        "json_schema": {
            "name": "other",
            "strict": True,
            "schema": {
                "type": "object",
                "additionalProperties": False,
                "required": ["score", "label", "tags"],
                "properties": {
                    "score": {"type": "integer"},
                    "label": {"type": "string", "enum": ["good", "bad"]},
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    }
    content = grade(client, [{"role": "user", "content": "rate this"}], schema)
    assert json.loads(content) == {"score": 0, "label": "good", "tags": []}


@pytest.mark.parametrize(
    ("response_format", "code", "message"),
    [
        ({"type": "xml"}, "invalid_value", "Supported values are"),
        ({"type": "json_schema", "json_schema": {"schema": {}}}, "missing_required_parameter",
         "response_format.json_schema.name"),
        ({"type": "json_schema", "json_schema": {"name": "x", "strict": True, "schema": {
            "type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}}},
         "invalid_request_error", "'additionalProperties' is required to be supplied"),
    ],
)  # fmt: skip
def test_a_malformed_response_format_is_refused_as_the_service_does(
    client: openai.AzureOpenAI, response_format: dict, code: str, message: str
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "hi"}],
            response_format=response_format,  # type: ignore[arg-type]
        )
    assert refused.value.body["code"] == code
    assert message in refused.value.body["message"]


def test_with_rate_limits_a_deployment_answers_429_with_retry_after_past_its_capacity() -> None:
    timings = dataclasses.replace(Timings.fast(), enforce_rate_limits=True)
    with running_emulator(
        timings=timings, base_deployments={"small": "gpt-4o-mini-2024-07-18"}
    ) as emu:
        client = openai_client(emu)
        for _ in range(10):  # capacity 10: ten requests per 10 s
            client.chat.completions.create(
                model="small", messages=[{"role": "user", "content": "hi"}]
            )
        with pytest.raises(openai.RateLimitError) as throttled:
            client.chat.completions.create(
                model="small", messages=[{"role": "user", "content": "hi"}]
            )
    assert 1 <= int(throttled.value.response.headers["Retry-After"]) <= 10
    assert "exceeded call rate limit" in throttled.value.body["message"]
