"""A receiver that once answered 410 Gone is disabled; `POST /api/webhooks/{endpoint}/enable`
enables it again, and the enabling is recorded (when, and what it undid). Through the real
handler on the notification fakes, and the record on Azurite's table."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import azure.functions as func
import pytest
from azure.data.tables import TableServiceClient

from functions import notifications
from localdev.azurite import AzuritePorts
from shared.adapters.event_table import TableEventStore
from shared.bootstrap import use_services
from shared.notifications import service
from shared.notifications.policy import Answer
from shared.notifications.protocols import StoredEvent
from shared.notifications.settings import NotificationSettings, WebhookEndpoint
from shared.pipeline.services import Services
from shared.settings import Settings
from tests.notifications.fakes import FakeSender
from tests.pipeline.fakes import fake_services

ENV = {
    "AzureWebJobsStorage": "UseDevelopmentStorage=true",
    "AZURE_OPENAI_ENDPOINT": "http://127.0.0.1:9",
    "AZURE_SUBSCRIPTION_ID": "sub",
    "AZURE_RESOURCE_GROUP": "rg",
    "AZURE_OPENAI_ACCOUNT": "acct",
}
URL = "https://shop.example.com/h"
QUEUED = "tunedrop.run.queued"


def event(sequence: int) -> StoredEvent:
    payload = {"id": f"evt_{sequence:032x}", "type": QUEUED, "time": "2026-12-01T12:00:00+00:00",
               "data": {"run": "minato", "sequence": sequence}}  # fmt: skip
    return StoredEvent("minato", sequence, payload["id"], QUEUED, payload)


@pytest.fixture
def app() -> Iterator[Services]:
    chosen = fake_services(settings=Settings.from_env(ENV))
    assert chosen.notifier is not None
    hook = WebhookEndpoint("shop", URL, frozenset({QUEUED}))
    notifier = replace(
        chosen.notifier,
        settings=NotificationSettings(webhooks=(hook,)),
        webhooks=FakeSender(Answer(410, "Gone"), Answer(200)),
    )
    chosen = replace(chosen, notifier=notifier)
    with use_services(chosen):
        yield chosen


def deliver_everything(app: Services) -> None:
    notifier = app.notifier
    assert notifier is not None
    service.sweep(notifier)
    while messages := notifier.queue.take():  # type: ignore[attr-defined]
        for message, _ in messages:
            service.deliver(notifier, message)


def call(path: str, **route: str) -> func.HttpResponse:
    request = func.HttpRequest("POST", f"http://localhost{path}", body=b"", route_params=route)
    return notifications.enable_webhook_endpoint.build().get_user_function()(request)


def states(app: Services) -> list[str]:
    assert app.notifier is not None
    events = service.run_events(app.notifier, "minato")
    return [item["deliveries"][0]["state"] for item in events]


def test_a_410_disabled_endpoint_is_enabled_again_through_the_api(app: Services) -> None:
    store: Any = app.notifier.events  # type: ignore[union-attr]
    store.add(event(1))
    deliver_everything(app)
    store.add(event(2))
    deliver_everything(app)
    assert states(app) == ["failed", "failed"]  # gone, then disabled

    answer = call("/api/webhooks/shop/enable", endpoint="shop")
    assert answer.status_code == 200
    body = json.loads(answer.get_body())
    assert body["endpoint"] == "shop" and body["enabled"] is True
    assert body["was_disabled"].startswith("answered 410 Gone at ")
    assert body["enabled_at"]

    store.add(event(3))
    deliver_everything(app)
    assert states(app) == ["failed", "failed", "delivered"]
    again = json.loads(call("/api/webhooks/shop/enable", endpoint="shop").get_body())
    assert again["was_disabled"] is None  # enabling an enabled endpoint changes nothing


def test_an_unknown_or_malformed_endpoint_name_is_404_or_400(app: Services) -> None:
    assert call("/api/webhooks/nobody/enable", endpoint="nobody").status_code == 404
    assert call("/api/webhooks/eventgrid/enable", endpoint="eventgrid").status_code == 404
    bad = call("/api/webhooks/..%2Fx/enable", endpoint="../x")
    assert bad.status_code == 400
    assert "endpoint name" in json.loads(bad.get_body())["detail"]


def test_the_table_records_each_disabling_and_enabling(azurite: AzuritePorts) -> None:
    tables = TableServiceClient.from_connection_string(azurite.connection_string)
    table = tables.get_table_client(f"runs{uuid.uuid4().hex[:12]}")
    store = TableEventStore(table)
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert store.enable("shop", URL, now) is None
    store.disable("shop", URL, "answered 410 Gone at 2026-12-01 12:00")
    assert store.disabled("shop", URL) == "answered 410 Gone at 2026-12-01 12:00"
    assert store.enable("shop", URL, now) == "answered 410 Gone at 2026-12-01 12:00"
    assert store.disabled("shop", URL) is None
    [row] = [r for r in table.list_entities() if r["RowKey"].startswith("endpoint|shop|")]
    history = json.loads(row["History"])
    assert [item["action"] for item in history] == ["disabled", "enabled"]
    assert history[1]["at"] == now.isoformat()
