"""The evaluation's adapters on the emulator (real `openai` client) and Azurite."""

from __future__ import annotations

import uuid

import openai
import pytest

from localdev.emulator import Fault
from shared.errors import DeploymentNotReady, TransientServiceError
from shared.evaluation.adapters import AzureOpenAIModelCalls, BlobEvaluationReports
from shared.evaluation.judging import JUDGE_SCHEMA, judge_messages, parse_judgement


@pytest.fixture
def models(emulator) -> AzureOpenAIModelCalls:
    client = openai.AzureOpenAI(
        azure_endpoint=emulator.url, api_key=emulator.api_key, api_version="2024-10-21",
        max_retries=0,
    )  # fmt: skip
    return AzureOpenAIModelCalls(client)


def test_a_structured_judge_request_is_answered_and_read(models) -> None:
    messages = judge_messages("好きな食べ物は？", "鯖の味噌煮です。", "鯖の味噌煮です。")
    answer = models.ask("gpt-4o", messages, max_tokens=300, seed=42, response_format=JUDGE_SCHEMA)
    assert parse_judgement(answer.reply).passed
    assert answer.usage["prompt_tokens"] > 0 and answer.model == "gpt-4o-2024-08-06"


def test_throttling_is_a_transient_error_carrying_retry_after(models, emulator) -> None:
    emulator.inject(Fault("throttle", path_contains="/deployments/gpt-4o/chat", retry_after=7))
    with pytest.raises(TransientServiceError) as throttled:
        models.ask("gpt-4o", [{"role": "user", "content": "hi"}], max_tokens=10, seed=1)
    assert throttled.value.retry_after == 7


def test_a_deployment_that_does_not_exist_is_reported_as_not_ready(models) -> None:
    with pytest.raises(DeploymentNotReady):
        models.ask("no-such-deployment", [{"role": "user", "content": "hi"}], max_tokens=10, seed=1)


def test_reports_are_written_and_read_back_and_a_missing_one_is_none(blob_service) -> None:
    container = f"reports-{uuid.uuid4().hex[:12]}"
    reports = BlobEvaluationReports(blob_service, container)
    assert reports.read_json("run/evaluation.json") is None  # not even the container yet
    reports.write_json("run/evaluation.json", {"verdict": "generalizes", "日本語": "はい"})
    assert reports.read_json("run/evaluation.json") == {"verdict": "generalizes", "日本語": "はい"}
    reports.write_text("run/evaluation.md", "# 評価\n", "text/markdown; charset=utf-8")
    blob = blob_service.get_blob_client(container, "run/evaluation.md")
    assert blob.download_blob().readall().decode() == "# 評価\n"
    assert blob.get_blob_properties().content_settings.content_type.startswith("text/markdown")
