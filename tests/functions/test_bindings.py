"""What `function_app.app` declares is what the Functions host will run: a wrong binding here
means a trigger that never fires or a route nobody can call."""

from __future__ import annotations

import json

import pytest

from function_app import app

# The host indexes the app once; `get_functions()` refuses to index the same app twice.
FUNCTIONS = {function.get_function_name(): function for function in app.get_functions()}


def declared() -> dict[str, dict]:
    return {
        name: json.loads(function.get_function_json())["bindings"][0]
        for name, function in FUNCTIONS.items()
    }


EXPECTED = {
    "health": {
        "type": "httpTrigger",
        "route": "health",
        "methods": ["GET"],
        "authLevel": "ANONYMOUS",
    },
    "validate": {
        "type": "httpTrigger",
        "route": "validate",
        "methods": ["POST"],
        "authLevel": "FUNCTION",
    },
    "validate_dropped_file": {
        "type": "blobTrigger",
        "path": "%INBOX_CONTAINER%/{name}",
        "connection": "AzureWebJobsStorage",
        "source": "EventGrid",  # Flex Consumption runs no other blob source
    },
    "record_poisoned_inbox_blob": {
        "type": "queueTrigger",
        "queueName": "webjobs-blobtrigger-poison",
        "connection": "AzureWebJobsStorage",
    },
    "advance_active_runs": {
        "type": "timerTrigger",
        "schedule": "%RUN_TIMER_SCHEDULE%",
        "runOnStartup": False,
    },
    "advance_queued_runs": {
        "type": "queueTrigger",
        "queueName": "%RUNS_QUEUE%",
        "connection": "AzureWebJobsStorage",
    },
    "send_pending_events": {
        "type": "timerTrigger",
        "schedule": "%EVENTS_TIMER_SCHEDULE%",
        "runOnStartup": False,
    },
    "deliver_event": {
        "type": "queueTrigger",
        "queueName": "%EVENTS_QUEUE%",
        "connection": "AzureWebJobsStorage",
    },
    "record_dead_event": {
        "type": "queueTrigger",
        "queueName": "%EVENTS_QUEUE%-poison",
        "connection": "AzureWebJobsStorage",
    },
    "openapi": {
        "type": "httpTrigger",
        "route": "openapi.json",
        "methods": ["GET"],
        "authLevel": "ANONYMOUS",
    },
}


HTTP_API = {
    "list_runs": ("runs", "GET"),
    "get_run": ("runs/{run}", "GET"),
    "get_run_metrics": ("runs/{run}/metrics", "GET"),
    "deploy_run": ("runs/{run}/deploy", "POST"),
    "tear_down_deployment": ("runs/{run}/deployment", "DELETE"),
    "cancel_run": ("runs/{run}/cancel", "POST"),
    "chat_with_run": ("runs/{run}/chat", "POST"),
    "loss_chart": ("runs/{run}/loss.svg", "GET"),
    "run_page": ("runs/{run}/view", "GET"),
    "list_run_events": ("runs/{run}/events", "GET"),
    "redeliver_run_event": ("runs/{run}/events/{id}/redeliver", "POST"),
    "evaluate_run": ("runs/{run}/evaluate", "POST"),
    "get_evaluation": ("runs/{run}/evaluation", "GET"),
    "enable_webhook_endpoint": ("webhooks/{endpoint}/enable", "POST"),
    "improve_run": ("runs/{run}/improve", "POST"),
}
EXPECTED.update(
    {
        name: {"type": "httpTrigger", "route": route, "methods": [method], "authLevel": "FUNCTION"}
        for name, (route, method) in HTTP_API.items()
    }
)


def test_the_app_declares_exactly_the_expected_functions() -> None:
    assert set(declared()) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_function_declares_its_trigger(name: str) -> None:
    trigger = declared()[name]
    for key, value in EXPECTED[name].items():
        assert trigger[key] == value, f"{name}: {key}"


def test_every_http_function_except_health_and_the_api_document_needs_a_function_key() -> None:
    open_routes = [
        name
        for name, trigger in declared().items()
        if trigger["type"] == "httpTrigger" and trigger["authLevel"] != "FUNCTION"
    ]
    assert sorted(open_routes) == ["health", "openapi"]


def test_blob_trigger_takes_an_sdk_blob_client_so_files_are_streamed() -> None:
    import typing

    import azurefunctions.extensions.bindings.blob as blob_bindings

    hints = typing.get_type_hints(FUNCTIONS["validate_dropped_file"].get_user_function())
    assert hints["blob"] is blob_bindings.BlobClient


def test_every_app_setting_a_binding_names_is_in_the_example_settings() -> None:
    import re
    from pathlib import Path

    example = json.loads((Path(__file__).parents[2] / "local.settings.example.json").read_text())
    names = set(re.findall(r"%([^%]+)%", json.dumps(declared())))
    assert names and names <= set(example["Values"])
