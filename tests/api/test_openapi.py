"""The OpenAPI document matches what the app registers: every HTTP function documented with its
methods and auth, nothing extra; every event type in `webhooks`; every reference resolves; and
what the events API and the webhooks send fits the document's schemas."""

from __future__ import annotations

import importlib.util
import json
from datetime import UTC, datetime
from typing import Any

import azure.functions as func
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

import function_app
from functions.openapi import openapi
from shared.api.openapi import openapi_document
from shared.notifications.events import EVENT_TYPES, event_payload
from shared.runs.record import Run

DOCUMENT = openapi_document()
METHODS = ("get", "put", "post", "delete", "patch")


def fresh_app() -> func.FunctionApp:
    """`function_app.app` as the host would load it: the module run again on its own, since an
    app indexes its functions only once (`get_functions` refuses a second time)."""
    spec = importlib.util.spec_from_file_location("function_app_indexed", function_app.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


def registered_routes() -> dict[tuple[str, str], tuple[str, str]]:
    """(route, method) -> (function name, auth level) of every HTTP function the app holds;
    derived from the app, so a route another change adds is caught here."""
    routes = {}
    for function in fresh_app().get_functions():
        trigger = json.loads(function.get_function_json())["bindings"][0]
        if trigger["type"] != "httpTrigger":
            continue
        for method in trigger["methods"]:
            key = (trigger["route"], method.lower())
            routes[key] = (function.get_function_name(), trigger["authLevel"].lower())
    return routes


def documented_routes() -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (path.removeprefix("/"), method): operation
        for path, item in DOCUMENT["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def test_every_registered_route_is_documented_and_no_other() -> None:
    registered, documented = set(registered_routes()), set(documented_routes())
    assert sorted(registered - documented) == [], "registered but not documented"
    assert sorted(documented - registered) == [], "documented but not registered"


def test_each_operation_is_named_after_its_function_and_open_exactly_when_anonymous() -> None:
    documented = documented_routes()
    for key, (name, auth) in registered_routes().items():
        operation = documented[key]
        assert operation["operationId"] == name, key
        anonymous = operation.get("security") == []
        assert anonymous == (auth == "anonymous"), key
        assert ("401" in operation["responses"]) != anonymous, key


def test_every_path_parameter_of_a_route_is_documented() -> None:
    for (route, method), operation in documented_routes().items():
        names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        expected = {part[1:-1] for part in route.split("/") if part.startswith("{")}
        assert names == expected, (route, method)


def test_every_event_type_is_a_documented_webhook() -> None:
    assert set(DOCUMENT["webhooks"]) == set(EVENT_TYPES)


def test_every_reference_in_the_document_resolves() -> None:
    resolver = Registry().with_resource("", Resource.opaque(DOCUMENT)).resolver()
    text = json.dumps(DOCUMENT)
    refs = {part.split('"')[0] for part in text.split('"$ref": "')[1:]}
    assert refs
    for reference in refs:
        resolver.lookup(reference)


def schema_validator(name: str) -> Draft202012Validator:
    schema = {"$ref": f"#/components/schemas/{name}", **{"components": DOCUMENT["components"]}}
    return Draft202012Validator(schema)


def test_a_webhook_payload_fits_the_documented_event_schema() -> None:
    run = Run.new("kitsune", datetime(2026, 12, 1, tzinfo=UTC))
    run.fail("train.jsonl is not JSONL", datetime(2026, 12, 1, 0, 1, tzinfo=UTC))
    for raised in run.raised:
        schema_validator("Event").validate(event_payload(run, raised, "evt_" + "a" * 32))


def test_a_payload_breaking_the_contract_is_caught_by_the_schema() -> None:
    run = Run.new("kitsune", datetime(2026, 12, 1, tzinfo=UTC))
    payload = event_payload(run, run.raised[0], "evt_" + "a" * 32)
    del payload["data"]["sequence"]
    with pytest.raises(Exception, match="sequence"):
        schema_validator("Event").validate(payload)


def test_the_document_is_served_without_a_key_naming_the_callers_server() -> None:
    request = func.HttpRequest("GET", "https://tunedrop.example.net/api/openapi.json", body=b"")
    answer = openapi.build().get_user_function()(request)
    body = json.loads(answer.get_body())
    assert answer.status_code == 200 and body["openapi"] == "3.1.0"
    assert body["servers"] == [{"url": "https://tunedrop.example.net/api"}]
