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

from localdev import blob_created
from localdev.azurite import REPO_ROOT, AzuritePorts, free_port
from localdev.host import LocalHost
from localdev.host.blob_events import BLOB_CREATED, blob_created_event, blob_of, validation_event
from localdev.host.blobs import BlobTriggerRunner
from localdev.host.discovery import BindingError
from localdev.host.host_config import HostConfig


def eventually(check: Callable[[], bool], timeout: float = 30.0) -> None:
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

    @app.blob_trigger(
        arg_name="blob",
        path="%TEST_CONTAINER%/{name}",
        connection="TestStorage",
        source=func.BlobSource.EVENT_GRID,
    )
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

    def start(
        function_key: str = "", max_dequeue_count: int = 3, blob_events: bool = True
    ) -> tuple[LocalHost, Recorder]:
        recorder = Recorder()
        host = LocalHost(
            sample_app(recorder),
            os.environ,
            port=free_port(),
            config=HostConfig(blob_max_dequeue_count=max_dequeue_count),
            function_key=function_key,
            poll_seconds=0.2,
            blob_events=blob_events,
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
    eventually(lambda: ("tick", "TimerRequest") in recorder.calls, timeout=30)


def two_more_scans(host: LocalHost) -> None:
    """Waits until the blob trigger finished two more scans of its container: one of them began
    after whatever the test did last, so what it would have fired has fired."""
    (runner,) = [loop for loop in host.loops if isinstance(loop, BlobTriggerRunner)]
    done = runner.rounds
    eventually(lambda: runner.rounds >= done + 2)


def blob_calls(recorder: Recorder) -> list[object]:
    return [call for call in recorder.calls if call[0] not in ("tick", "queue")]


def test_dropped_blob_fires_once_and_not_again_after_a_restart(
    host_factory, container: str, azurite: AzuritePorts
) -> None:
    blobs = BlobServiceClient.from_connection_string(azurite.connection_string)
    host, recorder = host_factory()
    blobs.get_container_client(container).upload_blob("run-a/train.jsonl", b"first")
    eventually(lambda: blob_calls(recorder) == [("run-a/train.jsonl", b"first")])
    two_more_scans(host)
    assert blob_calls(recorder) == [("run-a/train.jsonl", b"first")]
    host.stop()

    restarted, after_restart = host_factory()
    two_more_scans(restarted)
    assert blob_calls(after_restart) == []
    blobs.get_blob_client(container, "run-a/train.jsonl").upload_blob(b"second", overwrite=True)
    eventually(lambda: blob_calls(after_restart) == [("run-a/train.jsonl", b"second")])


def test_a_blob_that_keeps_failing_goes_to_the_poison_queue_after_the_retries(
    host_factory, container: str, azurite: AzuritePorts
) -> None:
    blobs = BlobServiceClient.from_connection_string(azurite.connection_string)
    host, _ = host_factory(max_dequeue_count=3)
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
    two_more_scans(host)
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


# -- the blobs webhook (Event Grid source) ---------------------------------------------------


def webhook(host: LocalHost, function: str = "dropped", code: str = "") -> str:
    key = f"&code={code}" if code else ""
    return f"{host.url}/runtime/webhooks/blobs?functionName=Host.Functions.{function}{key}"


def notify(url: str, events: object, kind: str = "Notification") -> tuple[int, bytes]:
    headers = {"content-type": "application/json", "aeg-event-type": kind}
    return post(url, json.dumps(events).encode(), headers)


def created(container: str, blob_name: str) -> dict[str, object]:
    return blob_created_event(container=container, blob_name=blob_name, url="http://x/y")


def test_the_webhook_answers_event_grids_subscription_handshake(host_factory) -> None:
    host, _ = host_factory(blob_events=False)
    status, body = notify(webhook(host), [validation_event("abc123")], "SubscriptionValidation")
    assert (status, json.loads(body)) == (200, {"validationResponse": "abc123"})


def test_a_blob_created_notification_runs_the_function_once_however_often_it_comes(
    host_factory, container: str, azurite: AzuritePorts
) -> None:
    blobs = BlobServiceClient.from_connection_string(azurite.connection_string)
    blobs.get_container_client(container).create_container()
    blobs.get_container_client(container).upload_blob("run-b/train.jsonl", b"payload")
    host, recorder = host_factory(blob_events=False)
    event = created(container, "run-b/train.jsonl")
    assert notify(webhook(host), [event])[0] == 202
    eventually(lambda: blob_calls(recorder) == [("run-b/train.jsonl", b"payload")])

    # Event Grid delivers at least once; the CloudEvents schema (one object) is accepted too.
    cloud_event = {"specversion": "1.0", "type": event["eventType"], "source": "/x",
                   "id": "1", "subject": event["subject"], "data": event["data"]}  # fmt: skip
    assert notify(webhook(host), [event])[0] == 202
    assert notify(webhook(host), cloud_event)[0] == 202
    queue = QueueClient.from_connection_string(
        azurite.connection_string, host_blob_queue(host, "dropped")
    )
    eventually(lambda: queue.get_queue_properties().approximate_message_count == 0)
    assert blob_calls(recorder) == [("run-b/train.jsonl", b"payload")]


def test_the_webhook_refuses_what_event_grid_would_not_send(host_factory) -> None:
    host, _ = host_factory(blob_events=False)
    event = created("elsewhere", "a.jsonl")
    assert notify(webhook(host, "nothing"), [event])[0] == 404
    assert notify(webhook(host, "tick"), [event])[0] == 404  # not a blob function
    assert post(webhook(host), json.dumps([event]).encode())[0] == 400  # no aeg-event-type
    assert post(webhook(host), b"{", {"aeg-event-type": "Notification"})[0] == 400
    assert notify(webhook(host), [{"eventType": BLOB_CREATED, "subject": "/nope"}])[0] == 202
    assert get(webhook(host))[0] == 405

    keyed, _ = host_factory(function_key="s3cret", blob_events=False)
    assert notify(webhook(keyed), [event])[0] == 401
    assert notify(webhook(keyed, code="s3cret"), [event])[0] == 202


def test_the_host_refuses_a_blob_trigger_that_polls_the_container(
    container: str,
) -> None:
    import os

    app = func.FunctionApp()

    @app.blob_trigger(arg_name="blob", path="%TEST_CONTAINER%/{name}", connection="TestStorage")
    def polled(blob: blob_bindings.BlobClient) -> None:
        raise AssertionError("never runs")

    with pytest.raises(BindingError, match=r"source=func\.BlobSource\.EVENT_GRID"):
        LocalHost(app, os.environ, port=free_port())


def test_the_blob_created_command_delivers_to_the_webhook(
    host_factory, container: str, azurite: AzuritePorts
) -> None:
    blobs = BlobServiceClient.from_connection_string(azurite.connection_string)
    blobs.get_container_client(container).create_container()
    blobs.get_container_client(container).upload_blob("run-c/train.jsonl", b"by hand")
    host, recorder = host_factory(blob_events=False)
    code = blob_created.main(
        ["run-c/train.jsonl", "--container", container, "--host", host.url, "--function", "dropped"]
    )
    assert code == 0
    eventually(lambda: blob_calls(recorder) == [("run-c/train.jsonl", b"by hand")])


def test_the_sample_event_file_is_a_blob_created_event_for_the_inbox() -> None:
    events = json.loads((REPO_ROOT / "samples" / "blob-created.json").read_text())
    blob = blob_of(events[0])
    assert blob is not None and blob.container == "training-inbox"
    assert blob.blob_name == "kitsune-shopkeeper/train.jsonl"


def host_blob_queue(host: LocalHost, function: str) -> str:
    runner = next(
        loop for loop in host.loops if isinstance(loop, BlobTriggerRunner)
        and loop.function.name == function
    )  # fmt: skip
    return runner.queue.queue_name


def test_a_client_that_went_away_is_noted_without_a_traceback(
    host_factory, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    host, _ = host_factory()
    caplog.set_level("INFO")
    try:
        raise BrokenPipeError(32, "Broken pipe")  # as when writing to a client that timed out
    except BrokenPipeError:
        host.http.handle_error(None, ("127.0.0.1", 50000))
    assert "went away before its answer was sent" in caplog.text
    assert "Traceback" not in capsys.readouterr().err
