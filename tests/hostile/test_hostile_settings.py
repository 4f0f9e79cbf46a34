"""Settings an attacker would like: one receiver forging deliveries another accepts (a secret per
endpoint), and the local-only private URLs switched on in Azure."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from shared.adapters.event_senders import WebhookSender
from shared.notifications.protocols import StoredEvent
from shared.notifications.settings import NotificationSettings

SHARED = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
BILLING = "whsec_YmlsbGluZyBvd24gc2VjcmV0IGJpbGxpbmcgb3du"
EVENT = StoredEvent(
    "kitsune", 1, "evt_" + "e" * 32, "tunedrop.run.queued",
    {"id": "evt_" + "e" * 32, "type": "tunedrop.run.queued", "time": "2026-12-01T00:00:00+00:00",
     "data": {"run": "kitsune", "sequence": 1}},
)  # fmt: skip


@contextmanager
def receiving() -> Iterator[tuple[str, list[tuple[bytes, dict[str, str]]]]]:
    received: list[tuple[bytes, dict[str, str]]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append((body, dict(self.headers.items())))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def verifies(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


def test_an_endpoint_with_its_own_secret_gets_deliveries_no_other_receiver_could_forge() -> None:
    with receiving() as (base, received):
        hooks = [
            {"name": "billing", "url": f"{base}/billing", "secret": BILLING},
            {"name": "shop", "url": f"{base}/shop"},
        ]
        problems: list[str] = []
        settings = NotificationSettings.from_env(
            {"WEBHOOKS": json.dumps(hooks), "WEBHOOK_SECRET": SHARED,
             "WEBHOOK_ALLOW_PRIVATE_URLS": "true"},
            problems,
        )  # fmt: skip
        assert problems == []
        sender = WebhookSender(settings, resolver=lambda host, port: ["127.0.0.1"])
        assert sender.send("billing", EVENT).ok and sender.send("shop", EVENT).ok
    (billing_body, billing_headers), (shop_body, shop_headers) = received
    assert verifies(BILLING, billing_body, billing_headers)
    # The shop knows only the shared secret: it cannot sign what billing would accept.
    assert not verifies(SHARED, billing_body, billing_headers)
    assert verifies(SHARED, shop_body, shop_headers)
    assert not verifies(BILLING, shop_body, shop_headers)
    assert BILLING not in repr(settings)


def test_a_bad_endpoint_secret_is_named_without_its_value_and_the_shared_one_is_optional() -> None:
    problems: list[str] = []
    hooks = [
        {"name": "billing", "url": "https://b.example.com/h", "secret": "not-a-secret-value"},
        {"name": "shop", "url": "https://s.example.com/h", "secret": 42},
    ]
    NotificationSettings.from_env({"WEBHOOKS": json.dumps(hooks)}, problems)
    assert problems == [
        "WEBHOOKS[0].secret must be whsec_ followed by base64 (at least 24 bytes)",
        "WEBHOOKS[1].secret must be whsec_ followed by base64 (at least 24 bytes)",
    ]
    problems = []
    own = [{"name": "billing", "url": "https://b.example.com/h", "secret": BILLING}]
    NotificationSettings.from_env({"WEBHOOKS": json.dumps(own)}, problems)
    assert problems == []  # every endpoint signs with its own: no shared secret needed
    NotificationSettings.from_env(
        {"WEBHOOKS": json.dumps([*own, {"name": "shop", "url": "https://s.example.com/h"}])},
        problems,
    )
    assert problems == ["WEBHOOK_SECRET is missing: WEBHOOKS are signed with it"]


@pytest.mark.parametrize("value", ["true", "1", "yes"])
def test_private_webhook_urls_are_refused_in_azure(value: str) -> None:
    problems: list[str] = []
    NotificationSettings.from_env(
        {"WEBHOOK_ALLOW_PRIVATE_URLS": value, "WEBSITE_INSTANCE_ID": "0a1b2c"}, problems
    )
    assert problems == [
        "WEBHOOK_ALLOW_PRIVATE_URLS is for local use only and is refused in Azure "
        "(WEBSITE_INSTANCE_ID is set)"
    ]
    problems = []
    local = NotificationSettings.from_env({"WEBHOOK_ALLOW_PRIVATE_URLS": value}, problems)
    assert problems == [] and local.allow_private_urls
