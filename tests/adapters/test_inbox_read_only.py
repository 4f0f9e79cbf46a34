"""No uploaded file is ever changed or deleted, proven where it could break: the app's own blob
adapters, as `build_services` wires them, on Azurite, with a storage client that fails the test on
any request that would write to or delete from the inbox container.

A run goes through every step that reads the inbox (the blob trigger's validation of each file,
a duplicate trigger, a file changed after the start, the upload of each file, the deployment);
then the inbox must hold exactly the blobs dropped, with the ETag and content they were dropped
with, and the guard must have seen no write."""

from __future__ import annotations

import hashlib
import threading
import uuid
from datetime import UTC, datetime

import pytest
from azure.core.pipeline import PipelineRequest
from azure.storage.blob import BlobServiceClient

from shared.bootstrap import build_services
from shared.pipeline import handle_dropped_blob
from shared.pipeline.services import Services
from shared.runs.states import RunState
from tests.adapters.conftest import FixedTokenCredential, settings_for
from tests.adapters.test_full_run import tick_until
from tests.pipeline.data import RUN_JSON, TRAIN, VALIDATION

READS = ("GET", "HEAD")


class ReadOnlyContainer:
    """A storage client's request hook (`raw_request_hook`) that fails the test on any request
    that writes to or deletes from one container (its blobs, their metadata, properties,
    leases, tiers, or the container itself)."""

    def __init__(self, account: str, container: str) -> None:
        self.prefix = f"/{account}/{container}"
        self.refused: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, request: PipelineRequest) -> None:  # type: ignore[type-arg]
        http = request.http_request
        path = http.url.split("://", 1)[-1].split("/", 1)[-1].split("?", 1)[0]
        in_container = f"/{path}" == self.prefix or f"/{path}".startswith(self.prefix + "/")
        if in_container and http.method not in READS:
            with self._lock:
                self.refused.append(f"{http.method} {http.url}")
            raise AssertionError(f"Tunedrop wrote to the inbox: {http.method} {http.url}")


@pytest.fixture
def guarded(azurite, emulator) -> tuple[Services, ReadOnlyContainer, BlobServiceClient]:
    """The app's services on Azurite and the emulator; their blob adapters talk to storage
    through a client that refuses (and records) every write to the inbox."""
    settings = settings_for(azurite, emulator)
    services = build_services(settings, FixedTokenCredential())
    plain = BlobServiceClient.from_connection_string(azurite.connection_string)
    plain.create_container(settings.inbox_container)
    guard = ReadOnlyContainer(plain.account_name or "", settings.inbox_container)
    client = BlobServiceClient.from_connection_string(
        azurite.connection_string, raw_request_hook=guard
    )
    for adapter in (services.inbox, services.reports):
        adapter._service = client  # type: ignore[attr-defined]  # the containers stay as wired
    return services, guard, plain


def test_the_guard_refuses_a_write_to_the_inbox(azurite) -> None:
    container = f"inbox-{uuid.uuid4().hex[:12]}"
    guard = ReadOnlyContainer("devstoreaccount1", container)
    client = BlobServiceClient.from_connection_string(
        azurite.connection_string, raw_request_hook=guard
    )
    with pytest.raises(AssertionError, match="Tunedrop wrote to the inbox: PUT"):
        client.get_blob_client(container, "run/train.jsonl").upload_blob(b"x")
    with pytest.raises(AssertionError, match="DELETE"):
        client.get_blob_client(container, "run/train.jsonl").delete_blob()
    assert len(guard.refused) == 2


def test_a_run_from_drop_to_deployment_never_writes_to_or_deletes_from_the_inbox(
    guarded: tuple[Services, ReadOnlyContainer, BlobServiceClient],
) -> None:
    services, guard, plain = guarded
    inbox = plain.get_container_client(services.inbox._container)  # type: ignore[attr-defined]
    run = f"readonly-{uuid.uuid4().hex[:8]}"
    dropped: dict[str, tuple[str, str]] = {}

    def drop(name: str, data: bytes) -> None:
        answer = inbox.get_blob_client(f"{run}/{name}").upload_blob(data, overwrite=True)
        dropped[f"{run}/{name}"] = (str(answer["etag"]), hashlib.md5(data).hexdigest())
        handle_dropped_blob(services, f"{run}/{name}", datetime.now(UTC))

    drop("run.json", RUN_JSON)
    drop("train.jsonl", TRAIN)
    drop("validation.jsonl", VALIDATION)
    handle_dropped_blob(services, f"{run}/train.jsonl", datetime.now(UTC))  # a duplicate trigger
    tick_until(services, run, RunState.DEPLOYED)
    drop("validation.jsonl", VALIDATION + VALIDATION)  # changed after the start: ignored

    assert guard.refused == []
    now = {
        blob.name: (
            str(blob.etag),
            bytes(blob.content_settings.content_md5 or b"").hex(),
        )
        for blob in inbox.list_blobs()
    }
    assert now == {name: (etag.strip('"'), md5) for name, (etag, md5) in dropped.items()}
