"""The local stand-in for the storage account's Event Grid system topic: it delivers a BlobCreated
event for each new blob version at least once, records a delivery only once the webhook accepted
it, and does not deliver again after a restart."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from azure.storage.blob import BlobServiceClient

from localdev.azurite import AzuritePorts
from localdev.host.blob_events import BLOB_CREATED, blob_of
from localdev.host.event_grid import BlobCreatedPublisher
from tests.localdev.test_local_host import eventually


class Webhook(ThreadingHTTPServer):
    """Records the events POSTed to it; answers `status` to notifications."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.status = 202
        self.events: list[dict[str, object]] = []
        self.refused = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/runtime/webhooks/blobs?code=secret"


class _Handler(BaseHTTPRequestHandler):
    server: Webhook

    def log_message(self, *_: object) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        kind = self.headers["aeg-event-type"]
        if kind == "SubscriptionValidation":
            answer, status = {"validationResponse": body[0]["data"]["validationCode"]}, 200
        elif self.server.status >= 300:
            self.server.refused += 1
            answer, status = {}, self.server.status
        else:
            self.server.events.extend(body)
            answer, status = {}, self.server.status
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    server = Webhook()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def publishers(azurite: AzuritePorts) -> Iterator[Callable[[str, str], BlobCreatedPublisher]]:
    started: list[BlobCreatedPublisher] = []

    def start(container: str, url: str) -> BlobCreatedPublisher:
        publisher = BlobCreatedPublisher(
            azurite.connection_string, container, url, subscription="sub", poll_seconds=0.1
        )
        publisher.start()
        started.append(publisher)
        return publisher

    yield start
    for publisher in started:
        publisher.stop()


def test_each_new_blob_version_is_delivered_once_and_not_again_after_a_restart(
    azurite: AzuritePorts, webhook: Webhook, publishers: Callable[..., BlobCreatedPublisher]
) -> None:
    container = f"eg-{uuid.uuid4().hex[:12]}"
    blobs = BlobServiceClient.from_connection_string(azurite.connection_string)
    blobs.create_container(container)
    blobs.get_blob_client(container, "run/train.jsonl").upload_blob(b"one")
    first = publishers(container, webhook.url)
    eventually(lambda: len(webhook.events) == 1)
    event = webhook.events[0]
    assert event["eventType"] == BLOB_CREATED
    assert blob_of(event).blob_name == "run/train.jsonl"  # type: ignore[union-attr,arg-type]

    blobs.get_blob_client(container, "run/train.jsonl").upload_blob(b"two", overwrite=True)
    eventually(lambda: len(webhook.events) == 2)  # a changed blob is a new version
    first.stop()

    again = publishers(container, webhook.url)
    scans = again.scans
    eventually(lambda: again.scans >= scans + 2)  # it has looked at everything, twice
    assert len(webhook.events) == 2


def test_a_refused_delivery_is_tried_again_until_the_webhook_accepts_it(
    azurite: AzuritePorts, webhook: Webhook, publishers: Callable[..., BlobCreatedPublisher]
) -> None:
    container = f"eg-{uuid.uuid4().hex[:12]}"
    blobs = BlobServiceClient.from_connection_string(azurite.connection_string)
    blobs.create_container(container)
    webhook.status = 503
    blobs.get_blob_client(container, "run/train.jsonl").upload_blob(b"one")
    publishers(container, webhook.url)
    eventually(lambda: webhook.refused >= 2)
    assert webhook.events == []
    webhook.status = 202
    eventually(lambda: len(webhook.events) == 1)
