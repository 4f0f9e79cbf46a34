"""GET /api/health, called through the real handler with a real HttpRequest."""

import json

import azure.functions as func
import pytest

from functions.health import health
from localdev.azurite import AzuritePorts

SETTINGS = {
    "AZURE_OPENAI_ENDPOINT": "http://127.0.0.1:9",  # nothing listens on the discard port
    "AZURE_OPENAI_API_KEY": "key-that-must-not-leak",
    "AZURE_SUBSCRIPTION_ID": "sub",
    "AZURE_RESOURCE_GROUP": "rg",
    "AZURE_OPENAI_ACCOUNT": "acct",
}


def call_health() -> tuple[int, dict]:
    handler = health.build().get_user_function()
    response = handler(func.HttpRequest("GET", "http://localhost/api/health", body=b""))
    return response.status_code, json.loads(response.get_body())


def test_health_names_the_missing_settings_and_answers_503(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AzureWebJobsStorage", *SETTINGS):
        monkeypatch.delenv(name, raising=False)
    status, body = call_health()
    assert status == 503
    assert body["status"] == "unhealthy"
    assert "AZURE_OPENAI_ENDPOINT is missing" in body["problem"]


def test_health_reports_storage_up_and_openai_down_without_secrets(
    azurite: AzuritePorts, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AzureWebJobsStorage", azurite.connection_string)
    for name, value in SETTINGS.items():
        monkeypatch.setenv(name, value)
    status, body = call_health()
    assert status == 503
    assert body["checks"]["storage"] == "ok"
    assert body["checks"]["azure_openai"].startswith("not answering")
    assert body["version"]
    text = json.dumps(body)
    assert "key-that-must-not-leak" not in text
    assert "AccountKey" not in text
