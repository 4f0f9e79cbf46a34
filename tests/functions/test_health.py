"""GET /api/health, called through the real handler with a real HttpRequest."""

import json
import socket

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
    # Names only: the endpoint is anonymous (tests/hostile/test_hostile_health.py).
    assert "AZURE_OPENAI_ENDPOINT" in body["problem"].split(": ", 1)[1]


def test_health_reports_storage_up_and_openai_down_without_secrets(
    azurite: AzuritePorts, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AzureWebJobsStorage", azurite.connection_string)
    for name, value in SETTINGS.items():
        monkeypatch.setenv(name, value)
    status, body = call_health()
    assert status == 503
    assert body["checks"]["storage"] == "ok"
    assert (
        body["checks"]["azure_openai"] == "not answering (APIConnectionError: connection refused)"
    )
    assert body["down"] == ["azure_openai"]
    assert body["problem"] == (
        "azure_openai is down: not answering (APIConnectionError: connection refused)"
    )
    assert body["version"]
    text = json.dumps(body)
    assert "key-that-must-not-leak" not in text
    assert "AccountKey" not in text


def test_health_names_storage_as_down_when_nothing_answers_on_its_port(
    azurite: AzuritePorts, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a user saw when the stack's Azurite had gone: now the answer says which and why."""
    with socket.socket() as closed:  # bound, never listening: connections to it are refused
        closed.bind(("127.0.0.1", 0))
        gone = AzuritePorts(blob=closed.getsockname()[1], queue=azurite.queue, table=azurite.table)
        monkeypatch.setenv("AzureWebJobsStorage", gone.connection_string)
        for name, value in SETTINGS.items():
            monkeypatch.setenv(name, value)
        status, body = call_health()
    assert status == 503
    assert body["checks"]["storage"] == "not answering (ServiceRequestError: connection refused)"
    assert body["down"] == ["storage", "azure_openai"]
    assert body["problem"].startswith(
        "storage is down: not answering (ServiceRequestError: connection refused); azure_openai"
    )
