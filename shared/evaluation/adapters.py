"""`AzureOpenAIModelCalls` and `BlobEvaluationReports`: the evaluation's real adapters."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import openai

from shared.adapters.azure_errors import azure_errors
from shared.adapters.azure_openai import chat_reply
from shared.adapters.blob_files import BlobReportStore
from shared.adapters.openai_errors import openai_errors
from shared.errors import NotFound
from shared.pipeline.protocols import ChatReply


class AzureOpenAIModelCalls:
    """`ModelCalls` on Azure OpenAI chat completions, with the app's `openai` client."""

    def __init__(self, client: openai.AzureOpenAI) -> None:
        self._client = client

    def ask(
        self,
        deployment: str,
        messages: Sequence[Mapping[str, str]],
        *,
        max_tokens: int,
        seed: int,
        response_format: Mapping[str, Any] | None = None,
    ) -> ChatReply:
        extra: dict[str, Any] = {}
        if response_format is not None:
            extra["response_format"] = dict(response_format)
        with openai_errors(f"asking deployment {deployment!r}"):
            answer = self._client.chat.completions.create(
                model=deployment,
                messages=[dict(message) for message in messages],  # type: ignore[misc]
                max_tokens=max_tokens,
                temperature=0,
                seed=seed,
                **extra,
            )
        return chat_reply(answer)


class BlobEvaluationReports(BlobReportStore):
    """`EvaluationReports` on the reports container, created on first write if missing."""

    def read_json(self, path: str) -> dict[str, Any] | None:
        blob = self._service.get_blob_client(self._container, path)
        try:
            with azure_errors(f"reading report {path!r}"):
                data = json.loads(blob.download_blob().readall())
        except NotFound:
            return None
        return data if isinstance(data, dict) else None

    def write_json(self, path: str, document: Mapping[str, Any]) -> None:
        self.write(path, document)

    def write_text(self, path: str, text: str, content_type: str) -> None:
        self._write(path, text.encode("utf-8"), content_type)
