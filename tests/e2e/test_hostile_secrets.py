"""Secrets never leak: a run goes from dropped to deployed and chatted with, with distinctive
values for the Azure OpenAI key, the function key, the local bearer token and the webhook
signing secrets (shared, previous, and one endpoint's own), its events delivered to a webhook
receiver and the Event Grid stand-in (whose key is the emulator's, the Azure OpenAI key here);
then everything Tunedrop wrote (host log, reports, every table entity, the events API, what the
receivers got) and every answer it gave is searched for them, and for the storage account
key."""

from __future__ import annotations

import base64
import json
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.data.tables import TableServiceClient

from localdev.azurite import AzuritePorts
from localdev.emulator import Emulator, Fault, Timings
from tests.e2e.fault_helpers import SAMPLE, wait_until
from tests.e2e.stack import HostProcess, Stack, stack_environ
from tests.e2e.webhook_receiver import Receiver, running_receiver

pytestmark = pytest.mark.e2e

# Azurite's well-known account key, in every development connection string.
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
TOKEN = uuid.uuid4().hex[:12]


def webhook_secret(label: str) -> str:
    return "whsec_" + base64.b64encode(f"{label}-{TOKEN}-never-shown".encode()).decode()


SECRETS = {
    "AZURE_OPENAI_API_KEY": f"aoai-key-{TOKEN}-never-shown",
    "LOCALDEV_FUNCTION_KEY": f"fn-key-{TOKEN}-never-shown",
    "TUNEDROP_LOCAL_BEARER_TOKEN": f"bearer-{TOKEN}-never-shown",
    "WEBHOOK_SECRET": webhook_secret("shared-secret"),
    "WEBHOOK_PREVIOUS_SECRET": webhook_secret("previous-secret"),
    "WEBHOOKS[1].secret": webhook_secret("own-secret"),
}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    known = {"shared": SECRETS["WEBHOOK_SECRET"], "own": SECRETS["WEBHOOKS[1].secret"]}
    with running_receiver(known) as running:
        yield running


@pytest.fixture
def secret_stack(azurite: AzuritePorts, tmp_path: Path, receiver: Receiver) -> Iterator[Stack]:
    """A host on its own emulator, which accepts only the distinctive API key (its Event Grid
    stand-in too: EVENTGRID_KEY is that key), delivering to two webhook endpoints."""
    emulator = Emulator(timings=Timings.fast(), api_key=SECRETS["AZURE_OPENAI_API_KEY"])
    emulator.start()
    hooks = [
        {"name": "shared", "url": receiver.url},
        {"name": "own", "url": receiver.url, "secret": SECRETS["WEBHOOKS[1].secret"]},
    ]
    environ = stack_environ(
        azurite,
        emulator,
        LOCALDEV_FUNCTION_KEY=SECRETS["LOCALDEV_FUNCTION_KEY"],
        TUNEDROP_LOCAL_BEARER_TOKEN=SECRETS["TUNEDROP_LOCAL_BEARER_TOKEN"],
        WEBHOOKS=json.dumps(hooks),
        WEBHOOK_SECRET=SECRETS["WEBHOOK_SECRET"],
        WEBHOOK_PREVIOUS_SECRET=SECRETS["WEBHOOK_PREVIOUS_SECRET"],
        WEBHOOK_ALLOW_PRIVATE_URLS="true",
    )
    assert environ["EVENTGRID_KEY"] == SECRETS["AZURE_OPENAI_API_KEY"]
    host = HostProcess(environ, tmp_path / "host.log")
    try:
        host.start()
        yield Stack(azurite=azurite, emulator=emulator, environ=environ, host=host)
    finally:
        host.stop()
        emulator.stop()


def written_by_tunedrop(stack: Stack) -> dict[str, str]:
    """Every text Tunedrop wrote: its log, each report blob, each table entity."""
    texts = {"host log": stack.host.log()}
    for blob in stack.reports.list_blobs():
        texts[f"report {blob.name}"] = stack.reports.download_blob(blob.name).readall().decode()
    tables = TableServiceClient.from_connection_string(stack.azurite.connection_string)
    table = tables.get_table_client(stack.environ["RUNS_TABLE"])
    for entity in table.list_entities():
        key = f"entity {entity['PartitionKey']}/{entity['RowKey']}"
        texts[key] = json.dumps(dict(entity), default=str, ensure_ascii=False)
    return texts


def test_no_key_token_or_account_key_appears_in_anything_written_or_answered(
    secret_stack: Stack, receiver: Receiver
) -> None:
    stack = secret_stack
    key = SECRETS["LOCALDEV_FUNCTION_KEY"]
    run = f"secret-{TOKEN}"
    answers: list[tuple[str, Any]] = []

    def call(method: str, path: str, body: Any = None, **options: Any) -> tuple[int, Any]:
        status, payload, headers = stack.call(method, path, body, key=key, **options)
        answers.append((f"{method} {path}", [payload, headers]))
        return status, payload

    stack.inbox.upload_blob(f"{run}/train.jsonl", (SAMPLE / "train.jsonl").read_bytes())
    stack.inbox.upload_blob(f"{run}/validation.jsonl", (SAMPLE / "validation.jsonl").read_bytes())
    stack.inbox.upload_blob(f"{run}/run.json", b'{"deploy": {"ttl_hours": 1}}')
    deployed = wait_deployed(call, run)
    assert deployed["deployment"]["name"] == f"tunedrop-{run}"
    hello = {"message": "こんにちは", "compare": True}
    assert call("POST", f"/api/runs/{run}/chat", hello)[0] == 200
    # Upstream errors travel into answers and records: they must not carry a secret either.
    stack.emulator.inject(Fault("server_error", path_contains="/chat/completions", times=1))
    assert call("POST", f"/api/runs/{run}/chat", {"message": "もう一度"})[0] in (502, 503)
    for method, path in [
        ("GET", "/api/runs"), ("GET", f"/api/runs/{run}"), ("GET", f"/api/runs/{run}/metrics"),
        ("GET", f"/api/runs/{run}/loss.svg"), ("GET", f"/api/runs/{run}/view"),
        ("GET", f"/api/runs/{run}/view?code={key}"), ("GET", "/api/runs/nobody"),
        ("POST", f"/api/runs/{run}/deploy"), ("POST", "/api/runs/Bad/chat"),
        ("GET", "/api/health"), ("GET", f"/api/runs/{run}/events"),
        ("POST", "/api/webhooks/own/enable"),
    ]:  # fmt: skip
        call(method, path)
    call("POST", "/api/validate", raw=(SAMPLE / "train.jsonl").read_bytes())
    call("POST", "/api/validate", raw=b'{"messages": "nope"}\n')

    def event_grid() -> str:
        with urllib.request.urlopen(f"{stack.emulator.url}/_emulator/eventgrid/events") as answer:
            return answer.read().decode()

    def verified_deployed() -> set[str]:
        with receiver.lock:
            deployed = [d for d in receiver.deliveries if d.event["type"].endswith(".deployed")]
        return {name for delivery in deployed for name in delivery.verified_by}

    # Each endpoint verified the deployed event with its own secret; Event Grid got it too.
    wait_until(lambda: verified_deployed() == {"shared", "own"}, 60, "both endpoints")
    wait_until(lambda: "tunedrop.run.deployed" in event_grid(), 60, "the Event Grid stand-in")
    texts = written_by_tunedrop(stack)
    texts |= {f"answer {where}": json.dumps(body, default=repr) for where, body in answers}
    texts["webhook deliveries"] = json.dumps([d.event for d in receiver.deliveries])
    texts["event grid"] = event_grid()
    assert any(name.startswith("entity runs/run|") for name in texts)
    assert any(name.startswith("report ") for name in texts)
    assert "Tick:" in texts["host log"]
    settings = [*SECRETS.items(), ("EVENTGRID_KEY", stack.environ["EVENTGRID_KEY"])]
    for setting, secret in [*settings, ("AzureWebJobsStorage AccountKey", AZURITE_KEY)]:
        leaks = [name for name, text in texts.items() if secret in text]
        assert not leaks, f"{setting} appears in: {leaks}"
    leaks = [name for name, text in texts.items() if "AccountKey=" in text]
    assert not leaks, f"a connection string appears in: {leaks}"


def wait_deployed(call: Any, run: str, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    body: Any = None
    while time.monotonic() < deadline:
        status, body = call("GET", f"/api/runs/{run}")
        if status == 200 and body["state"] in ("deployed", "failed", "cancelled"):
            break
        time.sleep(0.5)
    assert body and body.get("state") == "deployed", body
    return body
