"""The runs API and run page, called through the real handlers with real HttpRequests, on the
pipeline's in-memory doubles (the end-to-end tests run the same calls on Azurite and the
emulator through the local host)."""

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import azure.functions as func
import pytest

from functions import run_page, runs_api
from shared.bootstrap import use_services
from shared.errors import PermanentServiceError
from shared.pipeline.services import Services
from shared.runs.states import RunState
from shared.settings import Settings
from tests.pipeline.data import RUN_JSON, TRAIN, VALIDATION
from tests.pipeline.fakes import fake_services
from tests.pipeline.helpers import drop, tick, tick_until

ENV = {
    "AzureWebJobsStorage": "UseDevelopmentStorage=true",
    "AZURE_OPENAI_ENDPOINT": "http://127.0.0.1:9",
    "AZURE_OPENAI_API_KEY": "key-that-must-not-leak",
    "AZURE_SUBSCRIPTION_ID": "sub",
    "AZURE_RESOURCE_GROUP": "rg",
    "AZURE_OPENAI_ACCOUNT": "acct",
    "MAX_REQUEST_BYTES": "4096",
    "MAX_CHAT_TOKENS": "100",
}
NO_DEPLOY = json.dumps({"deploy": {"enabled": False}}).encode()


@pytest.fixture
def app() -> Iterator[Services]:
    chosen = fake_services(settings=Settings.from_env(ENV))
    with use_services(chosen):
        yield chosen


def call(
    builder: Any, method: str, path: str, body: Any = None, raw: bytes | None = None,
    params: dict[str, str] | None = None, **route: str,
) -> func.HttpResponse:  # fmt: skip
    data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    request = func.HttpRequest(method, f"http://localhost:7071{path}", body=data,
                               params=params or {}, route_params=route)  # fmt: skip
    return builder.build().get_user_function()(request)


def decoded(response: func.HttpResponse) -> Any:
    return json.loads(response.get_body())


def deployed(app: Services, name: str = "minato") -> None:
    drop(app, f"{name}/train.jsonl", TRAIN)
    drop(app, f"{name}/validation.jsonl", VALIDATION)
    drop(app, f"{name}/run.json", RUN_JSON)
    tick_until(app, name, RunState.DEPLOYED)


def trained(app: Services, name: str = "trained") -> None:
    drop(app, f"{name}/train.jsonl", TRAIN)
    drop(app, f"{name}/run.json", NO_DEPLOY)
    tick_until(app, name, RunState.SUCCEEDED)


def test_get_run_answers_its_state_timeline_and_job(app: Services) -> None:
    deployed(app)
    response = call(runs_api.get_run, "GET", "/api/runs/minato", run="minato")
    assert response.status_code == 200 and response.mimetype == "application/json"
    view = decoded(response)
    assert view["state"] == "deployed"
    assert view["timeline"][-1]["to"] == "deployed"
    assert view["job"]["fine_tuned_model"]
    assert view["deployment"]["state"] == "Succeeded"
    assert view["files"]["train.jsonl"]["report_url"].startswith(
        "http://127.0.0.1:10000/devstoreaccount1/training-reports/minato/"
    )
    assert "key-that-must-not-leak" not in response.get_body().decode()


@pytest.mark.parametrize("name", ["..", "a/b", "ミナト", "Run"])
def test_get_run_refuses_bad_names_with_a_problem(app: Services, name: str) -> None:
    response = call(runs_api.get_run, "GET", "/api/runs/x", run=name)
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert "run name" in decoded(response)["detail"]


def test_unknown_run_is_404_naming_it(app: Services) -> None:
    response = call(runs_api.get_run_metrics, "GET", "/api/runs/nobody/metrics", run="nobody")
    assert response.status_code == 404
    assert decoded(response)["detail"] == "there is no run named 'nobody'."


def test_listing_pages_newest_first_and_filters_by_state(app: Services) -> None:
    for name in ("first", "second", "third"):
        drop(app, f"{name}/train.jsonl", TRAIN)
        tick(app, 1)
    names, token = [], None
    for _ in range(3):
        params = {"page_size": "2", **({"continuation": token} if token else {})}
        page = decoded(call(runs_api.list_runs, "GET", "/api/runs", params=params))
        names += [run["name"] for run in page["runs"]]
        token = page["continuation"]
        if token is None:
            break
    assert names == ["third", "second", "first"]
    only = decoded(call(runs_api.list_runs, "GET", "/api/runs", params={"state": "failed"}))
    assert only == {"runs": [], "continuation": None}
    bad = call(runs_api.list_runs, "GET", "/api/runs", params={"state": "done"})
    assert bad.status_code == 400 and "is not a run state" in decoded(bad)["detail"]


def test_metrics_and_chart_show_the_curves_of_a_trained_run(app: Services) -> None:
    deployed(app)
    metrics = decoded(call(runs_api.get_run_metrics, "GET", "/api/runs/minato/metrics",
                           run="minato"))  # fmt: skip
    assert metrics["points"] and "train_loss" in metrics["points"][0]
    chart = call(run_page.loss_chart, "GET", "/api/runs/minato/loss.svg", run="minato")
    assert chart.status_code == 200 and chart.mimetype == "image/svg+xml"
    root = ET.fromstring(chart.get_body())
    ids = {e.get("id") for e in root.iter("{http://www.w3.org/2000/svg}polyline")}
    assert {"train-loss", "valid-loss"} <= ids


def test_view_page_is_html_whose_only_script_carries_the_policy_nonce(app: Services) -> None:
    deployed(app)
    page = call(run_page.run_page, "GET", "/api/runs/minato/view", run="minato")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_body().decode()
    nonce = re.search(r"script-src 'nonce-([^']+)'", page.headers["Content-Security-Policy"])
    assert nonce and f'<script nonce="{nonce.group(1)}">' in html
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert '<polyline id="train-loss"' in html and 'id="timeline"' in html


def test_deploy_of_a_run_without_a_model_is_409_with_its_state(app: Services) -> None:
    drop(app, "early/train.jsonl", TRAIN)
    response = call(runs_api.deploy_run, "POST", "/api/runs/early/deploy", run="early")
    assert response.status_code == 409
    assert decoded(response)["detail"] == (
        "run 'early' has no fine-tuned model to deploy; it is waiting_for_files."
    )


def test_deploy_twice_is_accepted_twice_and_makes_one_deployment(app: Services) -> None:
    trained(app)
    body = {"name": "trained-bot", "ttl_hours": 2}
    first = call(runs_api.deploy_run, "POST", "/api/runs/trained/deploy", body, run="trained")
    second = call(runs_api.deploy_run, "POST", "/api/runs/trained/deploy", body, run="trained")
    assert (first.status_code, second.status_code) == (202, 202)
    assert first.headers["Location"] == "http://localhost:7071/api/runs/trained"
    assert decoded(first)["state"] == "deploying"
    assert decoded(first)["deployment"]["name"] == "trained-bot"
    tick_until(app, "trained", RunState.DEPLOYED)
    assert app.deployments.creates == {"trained-bot": 1}  # type: ignore[attr-defined]


def test_deploy_options_are_checked_and_unknown_ones_refused(app: Services) -> None:
    trained(app)
    bad = call(runs_api.deploy_run, "POST", "/x", {"sku": "Huge", "capacity": 0}, run="trained")
    assert bad.status_code == 400
    assert "sku" in decoded(bad)["detail"] and "capacity" in decoded(bad)["detail"]
    unknown = call(runs_api.deploy_run, "POST", "/x", {"model": "gpt-4o"}, run="trained")
    assert unknown.status_code == 400 and '"model"' in decoded(unknown)["detail"]
    not_json = call(runs_api.deploy_run, "POST", "/x", raw=b"{nope", run="trained")
    assert not_json.status_code == 400 and "not valid JSON" in decoded(not_json)["detail"]


def test_teardown_twice_is_accepted_twice_and_the_timer_deletes_once(app: Services) -> None:
    deployed(app)
    first = call(runs_api.tear_down_deployment, "DELETE", "/x", run="minato")
    second = call(runs_api.tear_down_deployment, "DELETE", "/x", run="minato")
    assert (first.status_code, second.status_code) == (202, 202)
    assert decoded(second)["deployment"]["teardown_requested"] is True
    tick_until(app, "minato", RunState.EXPIRED)
    third = call(runs_api.tear_down_deployment, "DELETE", "/x", run="minato")
    assert third.status_code == 202 and decoded(third)["state"] == "expired"
    assert app.deployments.deletes == ["tunedrop-minato"]  # type: ignore[attr-defined]


def test_teardown_of_a_run_that_never_deployed_is_409(app: Services) -> None:
    trained(app)
    response = call(runs_api.tear_down_deployment, "DELETE", "/x", run="trained")
    assert response.status_code == 409
    assert decoded(response)["detail"] == (
        "run 'trained' has no deployment to tear down; it is succeeded."
    )


def test_cancel_of_a_waiting_run_cancels_it_and_of_a_deployed_one_is_409(app: Services) -> None:
    drop(app, "waiting/train.jsonl", TRAIN)
    response = call(runs_api.cancel_run, "POST", "/x", run="waiting")
    assert response.status_code == 200 and decoded(response)["state"] == "cancelled"
    again = call(runs_api.cancel_run, "POST", "/x", run="waiting")
    assert again.status_code == 200
    deployed(app)
    refused = call(runs_api.cancel_run, "POST", "/x", run="minato")
    assert refused.status_code == 409 and "deployed" in decoded(refused)["detail"]


def test_chat_answers_from_the_deployment_and_compares_with_the_base(app: Services) -> None:
    deployed(app)
    busy = call(runs_api.chat_with_run, "POST", "/x", {"message": "hi", "compare": True},
                run="minato")  # fmt: skip
    assert busy.status_code == 503  # the base deployment does not serve on its first call
    assert decoded(busy)["detail"] == "deployment 'gpt-4o-mini' is not ready"
    body = {"message": "灯台は何段？", "compare": True, "max_tokens": 5000}
    response = call(runs_api.chat_with_run, "POST", "/x", body, run="minato")
    assert response.status_code == 200
    answer = decoded(response)
    assert answer["deployment"] == "tunedrop-minato"
    assert answer["reply"] == "[tunedrop-minato] 灯台は何段？ (100)"  # max_tokens capped at 100
    assert answer["base_model"] == "gpt-4o-mini" and answer["base_reply"]
    assert answer["usage"] == {"total_tokens": 3}


def test_chat_after_a_teardown_request_is_409_saying_why(app: Services) -> None:
    deployed(app)
    assert call(runs_api.tear_down_deployment, "DELETE", "/x", run="minato").status_code == 202
    calls = sum(app.chat.calls.values())  # type: ignore[attr-defined]
    response = call(runs_api.chat_with_run, "POST", "/x", {"message": "hi"}, run="minato")
    assert response.status_code == 409
    assert "is being torn down on request" in decoded(response)["detail"]
    assert sum(app.chat.calls.values()) == calls  # type: ignore[attr-defined]
    page = call(run_page.run_page, "GET", "/x", run="minato").get_body().decode()
    assert 'id="chat-send" disabled' in page and "being torn down" in page


def test_chat_before_deployment_is_409_naming_the_state(app: Services) -> None:
    trained(app)
    response = call(runs_api.chat_with_run, "POST", "/x", {"message": "hi"}, run="trained")
    assert response.status_code == 409
    assert decoded(response)["detail"] == (
        "run 'trained' has no serving deployment; it is succeeded."
    )


def test_chat_body_over_the_cap_is_413_and_a_bad_body_400(app: Services) -> None:
    deployed(app)
    big = call(runs_api.chat_with_run, "POST", "/x", {"message": "x" * 5000}, run="minato")
    assert big.status_code == 413 and "the limit is 4096 bytes" in decoded(big)["detail"]
    bad = call(runs_api.chat_with_run, "POST", "/x", {"messages": "hi"}, run="minato")
    assert bad.status_code == 400
    assert decoded(bad)["detail"] == '"messages" must be a non-empty list'


def test_an_upstream_error_quoting_a_sas_url_answers_502_without_the_signature(
    app: Services,
) -> None:
    deployed(app)
    leak = "https://acct.blob.core.windows.net/c/b?sv=1&sig=SECRETSIG"
    app.chat.faults.add("complete", PermanentServiceError(f"chat failed reading {leak}"))  # type: ignore[attr-defined]
    response = call(runs_api.chat_with_run, "POST", "/x", {"message": "hi"}, run="minato")
    assert response.status_code == 502
    assert decoded(response)["detail"] == (
        "chat failed reading https://acct.blob.core.windows.net/c/b?sv=1&sig=***"
    )


def test_cancel_of_a_training_run_cancels_its_azure_job(app: Services) -> None:
    app.fine_tuning.job_statuses = ["running"] * 50  # type: ignore[attr-defined]
    drop(app, "busy/train.jsonl", TRAIN)
    tick_until(app, "busy", RunState.RUNNING)
    job_id = app.runs.find("busy").job.id  # type: ignore[union-attr]
    response = call(runs_api.cancel_run, "POST", "/x", run="busy")
    assert response.status_code == 200 and decoded(response)["state"] == "cancelled"
    assert app.fine_tuning.jobs[job_id].status == "cancelled"  # type: ignore[attr-defined]
