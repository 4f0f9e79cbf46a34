"""The runs API through the local host over HTTP, on Azurite and the emulator: every endpoint
with and without the function key, on good and bad input, checking what a client relies on."""

import dataclasses
import math
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from azure.data.tables import TableServiceClient

from localdev.azurite import AzuritePorts
from localdev.emulator import Timings, running_emulator
from shared.adapters.table_store import TableRunStore
from shared.runs.curves import LossPoint
from shared.runs.facts import FileVerdict, JobEvent, JobInfo
from shared.runs.names import FileKind
from shared.runs.record import Run
from tests.e2e.fault_helpers import drop_sample, run_view, unique, wait_until
from tests.e2e.fault_helpers import wait_for_state as wait_for
from tests.e2e.stack import HostProcess, Stack, stack_environ

pytestmark = pytest.mark.e2e

SVG = "{http://www.w3.org/2000/svg}"
ENDPOINTS = [
    ("GET", "/api/runs"),
    ("GET", "/api/runs/any-run"),
    ("GET", "/api/runs/any-run/metrics"),
    ("GET", "/api/runs/any-run/loss.svg"),
    ("GET", "/api/runs/any-run/view"),
    ("POST", "/api/runs/any-run/deploy"),
    ("DELETE", "/api/runs/any-run/deployment"),
    ("POST", "/api/runs/any-run/cancel"),
    ("POST", "/api/runs/any-run/chat"),
]


def seed_failed_run(stack: Stack, run: str, minutes_ago: float = 0, text: str = "") -> str:
    """Stores a finished (failed) run with a loss curve straight through the store adapter, so
    the timer leaves it alone; `text` goes into every free-text field the page shows."""
    created = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    record = Run.new(run, created)
    record.files[FileKind.TRAIN] = FileVerdict(
        '"0x1"', True, f"{run}/train.jsonl.report.json", f"valid: 30 examples {text}", created
    )
    record.job = JobInfo("ftjob-seeded", "failed", created, error=f"seeded {text}",
                         events=[JobEvent("e1", created, "info", f"Step 1/60 {text}")])  # fmt: skip
    record.fail(f"the fine-tuning job failed: {text or 'seeded'}", created)
    tables = TableServiceClient.from_connection_string(stack.azurite.connection_string)
    store = TableRunStore(tables.get_table_client(stack.environ["RUNS_TABLE"]))
    store.add(record)
    points = [
        LossPoint(step=step, train_loss=2.2 * math.exp(-step / 20) + 0.3,
                  valid_loss=2.3 * math.exp(-step / 20) + 0.4 + max(0, step - 40) / 60,
                  full_valid_loss=(2.3 * math.exp(-step / 20) + 0.4) if step % 20 == 0 else None)
        for step in range(1, 61)
    ]  # fmt: skip
    store.save_points(run, points)
    return run


def header(headers: dict[str, str], name: str) -> str:
    """A response header, whatever case the server wrote its name in."""
    return {key.lower(): value for key, value in headers.items()}.get(name.lower(), "")


def problem(answer: tuple[int, Any, dict[str, str]], status: int) -> str:
    got, body, headers = answer
    assert got == status, body
    assert header(headers, "Content-Type").startswith("application/problem+json")
    assert body["status"] == status
    return body["detail"]


# The tests that only call the API, or drop a run of their own name, share one host
# (`module_stack`); the listing needs a table of its own, and others settings of their own.


def test_every_runs_endpoint_refuses_calls_without_the_right_key(module_stack: Stack) -> None:
    stack = module_stack
    for method, path in ENDPOINTS:
        assert stack.call(method, path, {}, key=None)[0] == 401, path
        assert stack.call(method, path, {}, key="wrong-key")[0] == 401, path
    assert stack.call("GET", "/api/health", key=None)[0] == 200


def test_bad_names_unknown_runs_and_bad_queries_get_problems_that_say_why(
    module_stack: Stack,
) -> None:
    stack = module_stack
    assert "there is no run named 'nobody'" in problem(stack.call("GET", "/api/runs/nobody"), 404)
    bad_names = ["..", "a%2F..%2Fb", "%2e%2e", "%E3%83%9F%E3%83%8A%E3%83%88", "Big", "a%00b"]
    for (method, path), name in zip(ENDPOINTS[1:], bad_names * 2, strict=False):
        bad_path = path.replace("any-run", name)
        body = {"message": "hi"} if path.endswith("/chat") else None
        assert "run name" in problem(stack.call(method, bad_path, body), 400), bad_path
    detail = problem(stack.call("GET", "/api/runs?state=finished"), 400)
    assert "'finished' is not a run state" in detail
    detail = problem(stack.call("GET", "/api/runs?continuation=forged"), 400)
    assert "is not a token this API gave out" in detail
    assert "not valid JSON" in problem(
        stack.call("POST", "/api/runs/nobody/chat", raw=b"{not json"), 400
    )


def test_bodies_over_the_size_cap_are_refused_with_413(make_stack: Any) -> None:
    stack = make_stack(MAX_REQUEST_BYTES="1024")
    detail = problem(stack.call("POST", "/api/runs/any-run/chat", {"message": "x" * 2000}), 413)
    assert "the limit is 1024 bytes (MAX_REQUEST_BYTES)" in detail
    detail = problem(stack.call("POST", "/api/runs/any-run/deploy", {"name": "y" * 2000}), 413)
    assert "the limit is 1024 bytes" in detail


def test_a_dropped_run_is_followed_deployed_chatted_with_and_torn_down_over_http(
    module_stack: Stack,
) -> None:
    stack = module_stack
    run = unique("kitsune")
    drop_sample(stack, run)
    deployed = wait_for(stack, run, "deployed")
    states = [entry["to"] for entry in deployed["timeline"] if entry["from"] != entry["to"]]
    assert states[:3] == ["waiting_for_files", "uploading", "processing_files"]
    assert states[-2:] == ["deploying", "deployed"]
    assert deployed["files"]["train.jsonl"]["valid"] is True
    assert deployed["job"]["fine_tuned_model"] and deployed["trained_tokens"]
    assert deployed["deployment"]["name"] == f"tunedrop-{run}"
    # No run.json: every hyperparameter was left to the service, which reports what it used.
    used = deployed["hyperparameters"]
    assert used["n_epochs"] == {"requested": "auto", "used": 4}
    assert used["batch_size"] == {"requested": "auto", "used": 1}
    assert used["seed"]["requested"] is None and isinstance(used["seed"]["used"], int)
    assert deployed["deployment"]["checkpoint"] == "final"
    assert deployed["deployment"]["model"] == deployed["job"]["fine_tuned_model"]
    assert deployed["overfitting"]["level"] in ("healthy", "watch", "overfitting")
    text = str(deployed)
    assert stack.environ["AZURE_OPENAI_API_KEY"] not in text and "AccountKey" not in text

    status, listing, _ = stack.call("GET", "/api/runs?state=deployed&page_size=5")
    assert status == 200 and run in [item["name"] for item in listing["runs"]]

    status, metrics, _ = stack.call("GET", f"/api/runs/{run}/metrics")
    assert status == 200 and metrics["points"]
    assert any("valid_loss" in point for point in metrics["points"])
    assert metrics["epoch_steps"]

    status, svg, headers = stack.call("GET", f"/api/runs/{run}/loss.svg")
    assert status == 200 and header(headers, "Content-Type").startswith("image/svg+xml")
    ids = {line.get("id") for line in ET.fromstring(svg).iter(f"{SVG}polyline")}
    assert {"train-loss", "valid-loss"} <= ids

    status, page, headers = stack.call("GET", f"/api/runs/{run}/view")
    assert status == 200 and header(headers, "Content-Type").startswith("text/html")
    assert "script-src 'nonce-" in header(headers, "Content-Security-Policy")
    assert f'id="run-name">{run}</span>' in page.decode()

    status, answer, _ = stack.call(
        "POST", f"/api/runs/{run}/chat", {"message": "お店は何時に開きますか？", "compare": True}
    )
    assert status == 200, answer
    assert answer["deployment"] == f"tunedrop-{run}" and answer["reply"]
    assert answer["base_model"] and answer["base_reply"] and answer["usage"]

    # Deploying a deployed run again changes nothing: still one deployment created.
    status, body, headers = stack.call("POST", f"/api/runs/{run}/deploy", {})
    assert status == 202 and body["state"] == "deployed"
    assert header(headers, "Location") == f"{stack.host.url}/api/runs/{run}"
    assert stack.emulator.count("PUT", f"/deployments/tunedrop-{run}") == 1

    for _ in range(2):
        status, body, _ = stack.call("DELETE", f"/api/runs/{run}/deployment")
        assert status == 202 and body["deployment"]["teardown_requested"] is True
    # From the request on, chat is closed, whether or not the timer deleted it yet.
    assert stack.call("POST", f"/api/runs/{run}/chat", {"message": "hi"})[0] == 409
    expired = wait_for(stack, run, "expired", timeout=30)
    assert expired["deployment"]["deleted_at"]
    assert stack.call("DELETE", f"/api/runs/{run}/deployment")[0] == 202
    assert stack.emulator.count("DELETE", f"/deployments/tunedrop-{run}") == 1
    detail = problem(stack.call("POST", f"/api/runs/{run}/chat", {"message": "hi"}), 409)
    assert detail == f"run '{run}' has no serving deployment; it is expired."


def test_a_run_trained_without_deploying_is_deployed_once_on_two_requests(
    make_stack: Any,
) -> None:
    # Train alone, so a short settling time; run.json is recorded before train.jsonl arrives.
    stack = make_stack(SETTLE_SECONDS="1")
    run = unique("manual")
    stack.inbox.upload_blob(f"{run}/run.json", b'{"deploy": {"enabled": false}}')
    wait_until(lambda: "run.json" in (run_view(stack, run) or {}).get("files", {}), 30, "run.json")
    drop_sample(stack, run, validation=False)
    trained = wait_for(stack, run, "succeeded")
    assert trained["deployment"] is None
    detail = problem(stack.call("POST", f"/api/runs/{run}/chat", {"message": "hi"}), 409)
    assert detail == f"run '{run}' has no serving deployment; it is succeeded."
    bad = problem(stack.call("POST", f"/api/runs/{run}/deploy", {"ttl_hours": -1}), 400)
    assert "ttl_hours" in bad
    options = {"name": f"{run}-bot", "ttl_hours": 1}
    answers = [stack.call("POST", f"/api/runs/{run}/deploy", options) for _ in range(2)]
    assert [status for status, _, _ in answers] == [202, 202]
    assert answers[0][1]["deployment"]["name"] == f"{run}-bot"
    deployed = wait_for(stack, run, "deployed", timeout=30)
    assert deployed["deployment"]["ttl_hours"] == 1
    assert stack.emulator.count("PUT", f"/deployments/{run}-bot") == 1


def test_a_waiting_run_is_cancelled_and_then_refuses_deploy_and_chat(make_stack: Any) -> None:
    stack = make_stack(SETTLE_SECONDS="600")
    run = unique("settling")
    drop_sample(stack, run, validation=False)
    wait_for(stack, run, "waiting_for_files", timeout=30)
    detail = problem(stack.call("POST", f"/api/runs/{run}/deploy"), 409)
    assert detail == f"run '{run}' has no fine-tuned model to deploy; it is waiting_for_files."
    detail = problem(stack.call("DELETE", f"/api/runs/{run}/deployment"), 409)
    assert "has no deployment to tear down" in detail
    status, body, _ = stack.call("POST", f"/api/runs/{run}/cancel")
    assert status == 200 and body["state"] == "cancelled"
    assert stack.call("POST", f"/api/runs/{run}/cancel")[0] == 200
    detail = problem(stack.call("POST", f"/api/runs/{run}/chat", {"message": "hi"}), 409)
    assert detail.endswith("it is cancelled.")
    assert "cancelled" in problem(stack.call("POST", f"/api/runs/{run}/deploy"), 409)


@pytest.fixture
def slow_training_stack(azurite: AzuritePorts, tmp_path: Path) -> Iterator[Stack]:
    """A host on an emulator of its own whose jobs train for an hour an epoch: a job is still
    training when it is cancelled, however slow the machine."""
    timings = dataclasses.replace(Timings.fast(), job_step=3600)
    with running_emulator(timings=timings) as emulator:
        environ = stack_environ(azurite, emulator)
        host = HostProcess(environ, tmp_path / "slow-training-host.log")
        host.start()
        try:
            yield Stack(azurite=azurite, emulator=emulator, environ=environ, host=host)
        finally:
            host.stop()


def test_cancelling_a_training_run_cancels_its_azure_job_once(slow_training_stack: Stack) -> None:
    stack = slow_training_stack
    run = unique("long")
    drop_sample(stack, run)
    training = wait_for(stack, run, "queued", "running", timeout=30)
    job_id = training["job"]["id"]
    status, body, _ = stack.call("POST", f"/api/runs/{run}/cancel")
    assert status in (200, 202), body
    cancelled = wait_for(stack, run, "cancelled", timeout=30)
    assert cancelled["timeline"][-1]["to"] == "cancelled"
    assert stack.emulator.count("POST", f"/fine_tuning/jobs/{job_id}/cancel") == 1
    detail = problem(stack.call("POST", f"/api/runs/{run}/deploy"), 409)
    assert detail.endswith("it is cancelled.")


def test_listing_pages_newest_first_with_a_continuation_token(stack: Stack) -> None:
    names = [seed_failed_run(stack, unique(f"seeded{index}"), minutes_ago=10 - index)
             for index in range(3)]  # fmt: skip
    seen, token = [], None
    for _ in range(4):
        query = "/api/runs?page_size=2" + (f"&continuation={token}" if token else "")
        status, page, _ = stack.call("GET", query)
        assert status == 200
        seen += [item["name"] for item in page["runs"]]
        token = page["continuation"]
        if not token:
            break
    assert seen == list(reversed(names))
    status, page, _ = stack.call("GET", "/api/runs?state=deployed")
    assert status == 200 and page == {"runs": [], "continuation": None}
