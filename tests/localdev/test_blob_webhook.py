"""The blobs webhook's answers, on a fake notification queue: what Event Grid is told."""

from __future__ import annotations

import json
from typing import Any

from azure.core.exceptions import ServiceRequestError

from localdev.host.blob_events import blob_created_event, validation_event
from localdev.host.blob_webhook import BlobWebhook

FUNCTION = {"functionName": "Host.Functions.validate_dropped_file"}
NOTIFICATION = {"aeg-event-type": "Notification"}


class FakeQueue:
    def __init__(self, down: bool = False) -> None:
        self.events: list[dict[str, Any]] = []
        self.down = down

    def enqueue(self, event: dict[str, Any]) -> None:
        if self.down:
            raise ServiceRequestError("storage is down")
        self.events.append(event)


def event() -> dict[str, Any]:
    return blob_created_event(container="inbox", blob_name="run/train.jsonl", url="http://x")


def test_each_event_of_a_notification_is_kept_before_the_202() -> None:
    queue = FakeQueue()
    webhook = BlobWebhook({"validate_dropped_file": queue})
    body = json.dumps([event(), event()]).encode()
    answer = webhook.handle("POST", FUNCTION, NOTIFICATION, body)
    assert answer.status == 202 and len(queue.events) == 2


def test_a_notification_storage_refuses_gets_503_so_event_grid_delivers_it_again() -> None:
    webhook = BlobWebhook({"validate_dropped_file": FakeQueue(down=True)})
    answer = webhook.handle("POST", FUNCTION, NOTIFICATION, json.dumps([event()]).encode())
    assert answer.status == 503 and "deliver again" in answer.body["detail"]


def test_the_handshake_echoes_the_code_and_unsubscribe_is_acknowledged() -> None:
    webhook = BlobWebhook({"validate_dropped_file": FakeQueue()})
    body = json.dumps([validation_event("c0de")]).encode()
    validation = {"Aeg-Event-Type": "SubscriptionValidation"}
    assert webhook.handle("POST", FUNCTION, validation, body).body == {"validationResponse": "c0de"}
    assert webhook.handle("POST", FUNCTION, {"aeg-event-type": "Unsubscribe"}, b"").status == 202


def test_a_handshake_without_a_code_is_refused_with_the_reason() -> None:
    webhook = BlobWebhook({"validate_dropped_file": FakeQueue()})
    body = json.dumps([{"eventType": "Microsoft.EventGrid.SubscriptionValidationEvent"}]).encode()
    answer = webhook.handle("POST", FUNCTION, {"aeg-event-type": "SubscriptionValidation"}, body)
    assert answer.status == 400 and "validationCode" in answer.body["detail"]
