"""The webhook sender against a receiver on loopback: signed as Standard Webhooks, with no
redirects followed, a short timeout, Retry-After read, and the SSRF guard before any request."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from standardwebhooks import Webhook

from shared.adapters.event_senders import WebhookSender
from shared.notifications.policy import DeliveryPolicy
from shared.notifications.protocols import StoredEvent
from shared.notifications.settings import NotificationSettings, WebhookEndpoint

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OLD_SECRET = "whsec_b2xkIHNlY3JldCBvbGQgc2VjcmV0IG9sZCBzZWNyZXQ="
EVENT = StoredEvent(
    "kitsune", 1, "evt_" + "e" * 32, "tunedrop.run.queued",
    {"id": "evt_" + "e" * 32, "type": "tunedrop.run.queued", "time": "2026-12-01T00:00:00+00:00",
     "data": {"run": "kitsune", "sequence": 1}},
)  # fmt: skip


class Receiver(BaseHTTPRequestHandler):
    script: ClassVar[dict[str, tuple[int, dict[str, str], float]]] = {}
    received: ClassVar[list[tuple[str, bytes, dict[str, str]]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.received.append((self.path, body, dict(self.headers.items())))
        status, headers, hold = self.script.get(self.path, (200, {}, 0.0))
        threading.Event().wait(hold)
        self.send_response(status)
        for name, value in {**headers, "Content-Length": "0"}.items():
            self.send_header(name, value)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.script, Receiver.received = {}, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def sender(url: str, *, allow_private: bool = True, **extra: Any) -> WebhookSender:
    settings = NotificationSettings(
        webhooks=(WebhookEndpoint("hook", url, frozenset({EVENT.type})),),
        secret=SECRET,
        previous_secret=OLD_SECRET,
        policy=DeliveryPolicy(timeout_seconds=1),
        allow_private_urls=allow_private,
    )
    return WebhookSender(settings, **extra)


def test_a_delivery_verifies_with_the_current_and_the_previous_secret(receiver: str) -> None:
    answer = sender(f"{receiver}/ok").send("hook", EVENT)
    assert answer.ok and answer.status == 200
    [(_, body, headers)] = Receiver.received
    assert headers["webhook-id"] == EVENT.id
    for secret in (SECRET, OLD_SECRET):
        assert Webhook(secret).verify(body, headers)["data"]["sequence"] == 1


def test_a_redirect_is_an_answer_not_followed(receiver: str) -> None:
    Receiver.script["/moved"] = (302, {"Location": f"{receiver}/elsewhere"}, 0.0)
    answer = sender(f"{receiver}/moved").send("hook", EVENT)
    assert answer.status == 302 and not answer.ok
    assert [path for path, _, _ in Receiver.received] == ["/moved"]


def test_retry_after_is_read_and_a_slow_receiver_times_out(receiver: str) -> None:
    Receiver.script["/busy"] = (503, {"Retry-After": "120"}, 0.0)
    assert sender(f"{receiver}/busy").send("hook", EVENT).retry_after == 120
    Receiver.script["/slow"] = (200, {}, 3.0)
    answer = sender(f"{receiver}/slow").send("hook", EVENT)
    assert answer.status is None and answer.detail == "no answer within 1 s"


def test_the_guard_refuses_loopback_and_names_that_resolve_inside_before_sending(
    receiver: str,
) -> None:
    refused = sender(f"{receiver}/ok", allow_private=False).send("hook", EVENT)
    assert refused.refused and "must use https" in refused.detail
    rebinding = sender(
        "https://hooks.example.com/x", allow_private=False, resolver=lambda host, port: ["10.1.2.3"]
    )
    answer = rebinding.send("hook", EVENT)
    assert answer.refused and "10.1.2.3" in answer.detail
    assert Receiver.received == []
