"""What the API's blueprints declare is what the Functions host serves: routes, methods, keys."""

import json

import azure.functions as func
import pytest

from functions import run_page, runs_api

EXPECTED = {
    "list_runs": ("runs", ["GET"]),
    "get_run": ("runs/{run}", ["GET"]),
    "get_run_metrics": ("runs/{run}/metrics", ["GET"]),
    "loss_chart": ("runs/{run}/loss.svg", ["GET"]),
    "run_page": ("runs/{run}/view", ["GET"]),
    "deploy_run": ("runs/{run}/deploy", ["POST"]),
    "tear_down_deployment": ("runs/{run}/deployment", ["DELETE"]),
    "cancel_run": ("runs/{run}/cancel", ["POST"]),
    "chat_with_run": ("runs/{run}/chat", ["POST"]),
}


def declared() -> dict[str, dict]:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
    app.register_functions(runs_api.bp)
    app.register_functions(run_page.bp)
    return {
        function.get_function_name(): json.loads(function.get_function_json())["bindings"][0]
        for function in app.get_functions()
    }


def test_the_blueprints_declare_exactly_the_documented_endpoints() -> None:
    assert set(declared()) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_endpoint_has_its_route_and_method_and_needs_the_function_key(name: str) -> None:
    trigger = declared()[name]
    route, methods = EXPECTED[name]
    assert trigger["type"] == "httpTrigger"
    assert (trigger["route"], trigger["methods"]) == (route, methods)
    assert trigger["authLevel"] == "FUNCTION"
