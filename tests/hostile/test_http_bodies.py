"""Every HTTP function, called through its real handler with real `HttpRequest`s holding
arbitrary bodies, queries, headers and route values, over the real adapters (Table and Blob
Storage on Azurite, Azure OpenAI and ARM on the emulator, as `build_services` wires them): the
answer is a 2xx, or a 4xx problem+json whose `detail` says why; never an exception or a 5xx.
The runs the fuzzing finds are real ones: one deployed, one waiting for its files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import azure.functions as func
import pytest
from azure.storage.blob import BlobServiceClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from functions import run_page, runs_api, validate
from localdev.azurite import AzuritePorts
from localdev.emulator import Emulator, Timings, running_emulator
from shared.bootstrap import build_services, use_services
from shared.pipeline.services import Services
from shared.runs.states import RunState
from tests.adapters.conftest import FixedTokenCredential, settings_for
from tests.adapters.test_full_run import drop, tick_until
from tests.fuzzing import examples
from tests.hostile.strategies import chat_examples, hostile_text, json_values, jsonl
from tests.pipeline.data import RUN_JSON, TRAIN, VALIDATION

LIMITS = {"MAX_REQUEST_BYTES": "4096", "MAX_CHAT_TOKENS": "100"}
FUNCTIONS = {
    "validate": (validate.validate, "POST", "/api/validate"),
    "list_runs": (runs_api.list_runs, "GET", "/api/runs"),
    "get_run": (runs_api.get_run, "GET", "/api/runs/{run}"),
    "get_run_metrics": (runs_api.get_run_metrics, "GET", "/api/runs/{run}/metrics"),
    "deploy_run": (runs_api.deploy_run, "POST", "/api/runs/{run}/deploy"),
    "tear_down_deployment": (runs_api.tear_down_deployment, "DELETE", "/api/runs/{run}/deployment"),
    "cancel_run": (runs_api.cancel_run, "POST", "/api/runs/{run}/cancel"),
    "chat_with_run": (runs_api.chat_with_run, "POST", "/api/runs/{run}/chat"),
    "loss_chart": (run_page.loss_chart, "GET", "/api/runs/{run}/loss.svg"),
    "run_page": (run_page.run_page, "GET", "/api/runs/{run}/view"),
}
RUNS = ["minato", "waiting", "cancelled"]
FUZZ = settings(
    max_examples=examples(40),
    deadline=None,  # a busy machine is slow, not wrong
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with running_emulator(timings=Timings.fast()) as running:
        yield running


def hostile_app(azurite: AzuritePorts, emulator: Emulator) -> Services:
    """Real services on a fresh table and containers, with "minato" deployed and two runs
    waiting for their files."""
    settings = settings_for(azurite, emulator, **LIMITS)
    chosen = build_services(settings, FixedTokenCredential())
    blobs = BlobServiceClient.from_connection_string(azurite.connection_string)
    blobs.create_container(settings.inbox_container)
    for name, data in (("run.json", RUN_JSON), ("train.jsonl", TRAIN),
                       ("validation.jsonl", VALIDATION)):  # fmt: skip
        drop(chosen, azurite, f"minato/{name}", data)
    tick_until(chosen, "minato", RunState.DEPLOYED)
    drop(chosen, azurite, "waiting/train.jsonl", TRAIN)
    drop(chosen, azurite, "cancelled/train.jsonl", TRAIN)
    return chosen


@pytest.fixture(scope="module")
def app(azurite: AzuritePorts, emulator: Emulator) -> Iterator[Services]:
    with use_services(hostile_app(azurite, emulator)) as chosen:
        yield chosen


run_names = (
    st.sampled_from(RUNS)
    | st.text(max_size=70)
    | st.sampled_from(
        ["..", "a/b", "a\\b", "%2e%2e", "ミナト", "Run", "a" * 64, "a\x00b", "\ud800"]
    )
)
bodies = (
    st.binary(max_size=300)
    | json_values.map(lambda value: json.dumps(value).encode())
    | st.lists(chat_examples, max_size=12).map(jsonl)
    | st.fixed_dictionaries(
        {},
        optional={
            "message": json_values, "messages": json_values | st.lists(
                st.fixed_dictionaries({"role": st.sampled_from(["user", "system", "assistant"]),
                                       "content": hostile_text}), max_size=3),
            "compare": json_values, "max_tokens": json_values, "name": json_values,
            "sku": json_values, "capacity": json_values, "ttl_hours": json_values,
        },
    ).map(lambda value: json.dumps(value).encode())
    | st.integers(4000, 20_000).map(lambda size: b'{"message": "' + b"x" * size + b'"}')
)  # fmt: skip
query_values = st.text(max_size=30) | st.sampled_from(
    ["auto", "0", "1", "50", "51", "²", "-1", "gpt-4o-2024-08-06", "deployed", "100", "101"]
)
queries = st.dictionaries(
    st.sampled_from(["state", "page_size", "continuation", "code", "model", "epochs", "x"]),
    query_values | st.binary(max_size=60).map(lambda raw: raw.hex()),
    max_size=4,
)
headers = st.dictionaries(
    st.sampled_from(["content-type", "accept", "x-functions-key", "content-length"]),
    st.sampled_from(["application/json", "text/plain", "multipart/form-data; boundary=x",
                     "application/x-www-form-urlencoded", "", "*/*", "-1"]),
    max_size=3,
)  # fmt: skip


def assert_answers_properly(response: func.HttpResponse) -> Any:
    """2xx, or 4xx problem+json naming why; never 5xx."""
    assert isinstance(response, func.HttpResponse)
    body = response.get_body()
    assert 200 <= response.status_code < 500, (response.status_code, body[:500])
    if response.status_code >= 400:
        assert response.mimetype == "application/problem+json"
        problem = json.loads(body)
        assert problem["status"] == response.status_code
        assert isinstance(problem["detail"], str) and problem["detail"].strip()
        return problem
    return body


def call(name: str, body: bytes, params: dict[str, str], header: dict[str, str], run: str) -> Any:
    handler, method, path = FUNCTIONS[name]
    route = {"run": run} if "{run}" in path else {}
    request = func.HttpRequest(
        method, "http://localhost:7071" + path.replace("{run}", "x"), headers=header,
        params=params, route_params=route, body=body,
    )  # fmt: skip
    return assert_answers_properly(handler.build().get_user_function()(request))


@pytest.mark.parametrize("name", list(FUNCTIONS))
@FUZZ
@given(body=bodies, params=queries, header=headers, run=run_names)
@example(body=b"", params={"epochs": "²"}, header={}, run="minato")
@example(body=b"[" * 3000, params={}, header={}, run="minato")
@example(body=b'{"max_tokens": ' + b"9" * 5000 + b"}", params={}, header={}, run="minato")
@example(body=b'{"message": "\\ud800"}', params={}, header={}, run="minato")
@example(body=b'{"\\ud800": 1}\n', params={}, header={}, run="minato")
@example(body=b'{"messages": [], "n": ' + b"1" * 5000 + b"}\n", params={}, header={}, run="x")
def test_every_http_function_answers_2xx_or_a_4xx_problem_whatever_it_is_sent(
    app: Services, name: str, body: bytes, params: dict[str, str], header: dict[str, str],
    run: str,
) -> None:  # fmt: skip
    call(name, body, params, header, run)


@FUZZ
@given(
    token=st.text(min_size=1, max_size=200) | st.binary(min_size=1, max_size=3000).map(bytes.hex)
)
@example(token="W1tbW1tbW1tbW1tb" * 250)  # base64 of "[[[[...": nesting too deep to decode
@example(token=" ")  # once taken as no token at all: the first page, 200
def test_forged_continuation_tokens_are_refused_with_400(app: Services, token: str) -> None:
    problem = call("list_runs", b"", {"continuation": token}, {}, "")
    assert isinstance(problem, dict), f"a forged token was taken: {token!r}"
    assert problem["status"] == 400 and "continuation" in problem["detail"]


def test_a_body_one_byte_over_the_cap_is_413_and_one_at_the_cap_is_read(
    azurite: AzuritePorts,
) -> None:
    at_cap = b'{"message": "' + b"x" * (4096 - 15) + b'"}'
    assert len(at_cap) == 4096
    # Its own services and emulator: the fuzzed calls may have torn "minato" down (no more
    # chat), and its deployment name is taken in the module's emulator.
    with running_emulator(timings=Timings.fast()) as own, use_services(hostile_app(azurite, own)):
        problem = call("chat_with_run", at_cap + b" ", {}, {}, "minato")
        assert problem["status"] == 413 and "the limit is 4096 bytes" in problem["detail"]
        assert json.loads(call("chat_with_run", at_cap, {}, {}, "minato"))["reply"]


def test_the_validate_endpoint_refuses_odd_epochs_with_the_rule(app: Services) -> None:
    rule = 'query "epochs" must be "auto" or a whole number from 1 to 50'
    for raw in ("²", "0", "51", "1.5", "-3", "٣"):
        problem = call("validate", TRAIN, {"epochs": raw}, {}, "")
        assert problem["status"] == 400 and rule in problem["detail"], raw
