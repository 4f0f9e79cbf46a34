"""Secrets never leak: a run goes from dropped to deployed and chatted with, with distinctive
values for the Azure OpenAI key, the function key and the local bearer token; then everything
Tunedrop wrote (host log, reports, every table entity) and every answer it gave is searched
for them, and for the storage account key."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.data.tables import TableServiceClient

from localdev.azurite import AzuritePorts
from localdev.emulator import Emulator, Fault, Timings
from tests.e2e.fault_helpers import SAMPLE
from tests.e2e.stack import HostProcess, Stack, stack_environ

pytestmark = pytest.mark.e2e

# Azurite's well-known account key, in every development connection string.
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
TOKEN = uuid.uuid4().hex[:12]
SECRETS = {
    "AZURE_OPENAI_API_KEY": f"aoai-key-{TOKEN}-never-shown",
    "LOCALDEV_FUNCTION_KEY": f"fn-key-{TOKEN}-never-shown",
    "TUNEDROP_LOCAL_BEARER_TOKEN": f"bearer-{TOKEN}-never-shown",
}


@pytest.fixture
def secret_stack(azurite: AzuritePorts, tmp_path: Path) -> Iterator[Stack]:
    """A host on its own emulator, which accepts only the distinctive API key."""
    emulator = Emulator(timings=Timings.fast(), api_key=SECRETS["AZURE_OPENAI_API_KEY"])
    emulator.start()
    environ = stack_environ(
        azurite,
        emulator,
        LOCALDEV_FUNCTION_KEY=SECRETS["LOCALDEV_FUNCTION_KEY"],
        TUNEDROP_LOCAL_BEARER_TOKEN=SECRETS["TUNEDROP_LOCAL_BEARER_TOKEN"],
    )
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
    secret_stack: Stack,
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
        ("GET", "/api/health"),
    ]:  # fmt: skip
        call(method, path)
    call("POST", "/api/validate", raw=(SAMPLE / "train.jsonl").read_bytes())
    call("POST", "/api/validate", raw=b'{"messages": "nope"}\n')

    texts = written_by_tunedrop(stack)
    texts |= {f"answer {where}": json.dumps(body, default=repr) for where, body in answers}
    assert any(name.startswith("entity runs/run|") for name in texts)
    assert any(name.startswith("report ") for name in texts)
    assert "Tick:" in texts["host log"]
    for setting, secret in [*SECRETS.items(), ("AzureWebJobsStorage AccountKey", AZURITE_KEY)]:
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
