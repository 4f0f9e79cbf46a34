"""The dev host runs a FunctionApp the way `func start` does: HTTP, timers and blobs."""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator

import azure.functions as func
import azurefunctions.extensions.bindings.blob as blob_bindings
import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueClient, TextBase64EncodePolicy

from localdev.azurite import AzuritePorts, free_port
from localdev.host import LocalHost
from localdev.host.host_config import HostConfig


def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("the condition did not come true in time")


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class Recorder:
    def __init__(self) -> None:
        self.calls: list[object] = []
        self.lock = threading.Lock()

    def add(self, item: object) -> None:
        with self.lock:
            self.calls.append(item)


def sample_app(recorder: Recorder) -> func.FunctionApp:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

    @app.route(route="echo/{word}", methods=["POST"])
    def echo(req: func.HttpRequest) -> func.HttpResponse:
        body = {
            "word": req.route_params["word"],
            "q": req.params.get("q"),
            "body": req.get_body().decode(),
        }
        return func.HttpResponse(json.dumps(body), mimetype="application/json")

    @app.route(route="open", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
    def open_route(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("open")

    @app.timer_trigger(schedule="%TEST_SCHEDULE%", arg_name="timer")
    def tick(timer: func.TimerRequest) -> None:
        recorder.add(("tick", type(timer).__name__))

    @app.blob_trigger(arg_name="blob", path="%TEST_CONTAINER%/{name}", connection="TestStorage")
    def dropped(blob: blob_bindings.BlobClient) -> None:
        content = blob.download_blob().readall()
        if content == b"explode":
            raise RuntimeError("this blob always fails")
        recorder.add((blob.blob_name, content))

    @app.queue_trigger(arg_name="message", queue_name="%TEST_QUEUE%", connection="TestStorage")
    def queued(message: func.QueueMessage) -> None:
        body = message.get_body()
        if body == b"explode":
            raise RuntimeError("this message always fails")
        recorder.add(("queue", body, message.dequeue_count))

    return app


@pytest.fixture
def container(azurite: AzuritePorts, monkeypatch: pytest.MonkeyPatch) -> str:
    name = f"host-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("TestStorage", azurite.connection_string)
    monkeypatch.setenv("TEST_CONTAINER", name)
    monkeypatch.setenv("TEST_SCHEDULE", "* * * * * *")
    monkeypatch.setenv("TEST_QUEUE", name)
    return name


@pytest.fixture
def host_factory(container: str) -> Iterator[Callable[..., tuple[LocalHost, Recorder]]]:
    import os

    started: list[LocalHost] = []

    def start(function_key: str = "", max_dequeue_count: int = 3) -> tuple[LocalHost, Recorder]:
        recorder = Recorder()
        host = LocalHost(
            sample_app(recorder),
            os.environ,
            port=free_port(),
            config=HostConfig(blob_max_dequeue_count=max_dequeue_count),
            function_key=function_key,
            poll_seconds=0.2,
        )
        host.start()
        started.append(host)
        return host, recorder

    yield start
    for host in started:
        host.stop()


def post(url: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_http_function_gets_route_values_query_and_body(host_factory) -> None:
    host, _ = host_factory()
    status, body = post(f"{host.url}/api/echo/hello?q=1", b"payload")
    assert status == 200
    assert json.loads(body) == {"word": "hello", "q": "1", "body": "payload"}


def test_wrong_method_is_405_and_unknown_route_is_404(host_factory) -> None:
    host, _ = host_factory()
    assert get(f"{host.url}/api/echo/hello")[0] == 405
    assert get(f"{host.url}/api/nowhere")[0] == 404
    assert get(f"{host.url}/echo/hello")[0] == 404


def test_function_key_is_enforced_only_when_configured(host_factory) -> None:
    open_host, _ = host_factory()
    assert post(f"{open_host.url}/api/echo/x", b"")[0] == 200
    keyed, _ = host_factory(function_key="s3cret")
    assert post(f"{keyed.url}/api/echo/x", b"")[0] == 401
    assert post(f"{keyed.url}/api/echo/x", b"", {"x-functions-key": "wrong"})[0] == 401
    assert post(f"{keyed.url}/api/echo/x", b"", {"x-functions-key": "s3cret"})[0] == 200
    assert post(f"{keyed.url}/api/echo/x?code=s3cret", b"")[0] == 200
    assert get(f"{keyed.url}/api/open") == (200, b"open")


def test_timer_fires_on_its_schedule_with_a_timer_request(host_factory) -> None:
    _, recorder = host_factory()
    eventually(lambda: ("tick", "TimerRequest") in recorder.calls, timeout=5)


def blob_calls(recorder: Recorder) -> list[object]:
    return [call for call in recorder.calls if call[0] not in ("tick", "queue")]


def test_dropped_blob_fires_once_and_not_again_after_a_restart(
    host_factory, container: str, azurite: AzuritePorts
) -> None:
    blobs = BlobServiceClient.from_connection_string(azurite.connection_string)
    host, recorder = host_factory()
    blobs.get_container_client(container).upload_blob("run-a/train.jsonl", b"first")
    eventually(lambda: blob_calls(recorder) == [("run-a/train.jsonl", b"first")])
    time.sleep(0.8)  # several more scans
    assert blob_calls(recorder) == [("run-a/train.jsonl", b"first")]
    host.stop()

    _, after_restart = host_factory()
    time.sleep(0.8)
    assert blob_calls(after_restart) == []
    blobs.get_blob_client(container, "run-a/train.jsonl").upload_blob(b"second", overwrite=True)
    eventually(lambda: blob_calls(after_restart) == [("run-a/train.jsonl", b"second")])


def test_a_blob_that_keeps_failing_goes_to_the_poison_queue_after_the_retries(
    host_factory, container: str, azurite: AzuritePorts
) -> None:
    blobs = BlobServiceClient.from_connection_string(azurite.connection_string)
    host_factory(max_dequeue_count=3)
    blobs.get_container_client(container).upload_blob("bad.jsonl", b"explode")
    poison = QueueClient.from_connection_string(
        azurite.connection_string, "webjobs-blobtrigger-poison"
    )

    def poisoned() -> list[dict[str, str]]:
        try:
            messages = poison.peek_messages(max_messages=32)
        except ResourceNotFoundError:
            return []
        decoded = [json.loads(base64.b64decode(m.content)) for m in messages]
        return [m for m in decoded if m["ContainerName"] == container]

    eventually(lambda: len(poisoned()) == 1)
    message = poisoned()[0]
    assert message["BlobName"] == "bad.jsonl"
    assert message["FunctionId"] == "Host.Functions.dropped"
    time.sleep(0.8)
    assert len(poisoned()) == 1, "a poisoned blob is not retried again"


def test_queue_message_fires_its_function_and_a_failing_one_ends_in_the_poison_queue(
    host_factory, container: str, azurite: AzuritePorts
) -> None:
    encoded = TextBase64EncodePolicy()
    queue = QueueClient.from_connection_string(
        azurite.connection_string, container, message_encode_policy=encoded
    )
    _, recorder = host_factory(max_dequeue_count=3)
    queue.send_message("hello")
    eventually(lambda: ("queue", b"hello", 1) in recorder.calls)
    queue.send_message("explode")
    poison = QueueClient.from_connection_string(azurite.connection_string, f"{container}-poison")

    def poisoned() -> list[bytes]:
        try:
            return [base64.b64decode(m.content) for m in poison.peek_messages(max_messages=8)]
        except ResourceNotFoundError:
            return []

    eventually(lambda: poisoned() == [b"explode"])
