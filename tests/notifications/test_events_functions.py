"""The events API and the run page's Events section, through the real HTTP handlers on fakes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import azure.functions as func
import pytest

from functions import notifications, run_page
from shared.bootstrap import use_services
from shared.notifications import service
from shared.notifications.policy import Answer
from shared.notifications.protocols import StoredEvent
from shared.notifications.settings import NotificationSettings, WebhookEndpoint
from shared.pipeline.services import Services
from shared.runs.states import RunState
from shared.settings import Settings
from tests.notifications.fakes import FakeEventStore, FakeSender
from tests.pipeline.data import TRAIN
from tests.pipeline.fakes import fake_services
from tests.pipeline.helpers import drop, tick_until

ENV = {
    "AzureWebJobsStorage": "UseDevelopmentStorage=true",
    "AZURE_OPENAI_ENDPOINT": "http://127.0.0.1:9",
    "AZURE_SUBSCRIPTION_ID": "sub",
    "AZURE_RESOURCE_GROUP": "rg",
    "AZURE_OPENAI_ACCOUNT": "acct",
}
EVENT_ID = "evt_" + "c" * 32


@pytest.fixture
def app() -> Iterator[Services]:
    chosen = fake_services(settings=Settings.from_env(ENV))
    wanted = frozenset({"tunedrop.run.failed"})
    hooks = (WebhookEndpoint("shop", "https://shop.example.com/h", wanted),)
    assert chosen.notifier is not None
    notifier = replace(
        chosen.notifier,
        settings=NotificationSettings(webhooks=hooks),
        webhooks=FakeSender(Answer(503, "down")),
    )
    chosen = replace(chosen, notifier=notifier)
    drop(chosen, "minato/train.jsonl", b"not json\n" + TRAIN)
    tick_until(chosen, "minato", RunState.FAILED)
    payload = {"id": EVENT_ID, "type": "tunedrop.run.failed", "time": "2026-12-01T12:00:00+00:00",
               "data": {"run": "minato", "sequence": 2}}  # fmt: skip
    store = notifier.events
    assert isinstance(store, FakeEventStore)
    store.add(StoredEvent("minato", 2, EVENT_ID, "tunedrop.run.failed", payload))
    service.sweep(notifier)
    for message, _ in notifier.queue.take():  # type: ignore[attr-defined]
        service.deliver(notifier, message)
    with use_services(chosen):
        yield chosen


def call(builder: Any, method: str, path: str, **route: str) -> func.HttpResponse:
    request = func.HttpRequest(method, f"http://localhost{path}", body=b"", route_params=route)
    return builder.build().get_user_function()(request)


def test_the_events_of_a_run_show_each_delivery_with_its_state_and_next_attempt(
    app: Services,
) -> None:
    answer = call(notifications.list_run_events, "GET", "/api/runs/minato/events", run="minato")
    assert answer.status_code == 200
    [event] = json.loads(answer.get_body())["events"]
    [delivery] = event["deliveries"]
    assert delivery["endpoint"] == "shop" and delivery["state"] == "retrying"
    assert delivery["attempts"] == 1 and delivery["last_status"] == 503
    assert delivery["next_attempt_at"]


def test_redelivering_an_event_queues_it_again_and_an_unknown_id_is_404(app: Services) -> None:
    path = f"/api/runs/minato/events/{EVENT_ID}/redeliver"
    answer = call(notifications.redeliver_run_event, "POST", path, run="minato", id=EVENT_ID)
    assert answer.status_code == 202
    assert json.loads(answer.get_body())["deliveries"][0]["state"] == "pending"
    other = "evt_" + "d" * 32
    missing = call(notifications.redeliver_run_event, "POST", path, run="minato", id=other)
    assert missing.status_code == 404
    bad = call(notifications.redeliver_run_event, "POST", path, run="minato", id="../x")
    assert bad.status_code == 400
    unknown_run = call(notifications.list_run_events, "GET", "/api/runs/nope/events", run="nope")
    assert unknown_run.status_code == 404


def test_the_run_page_shows_the_events_and_their_deliveries(app: Services) -> None:
    page = call(run_page.run_page, "GET", "/api/runs/minato/view", run="minato").get_body()
    text = page.decode()
    assert 'id="section-events"' in text and "tunedrop.run.failed" in text
    assert "shop: <strong>retrying</strong> (1 attempt(s), last HTTP 503" in text


def test_a_delivery_message_the_host_gave_up_on_is_recorded_as_a_dead_letter(
    app: Services,
) -> None:
    body = json.dumps({"run": "minato", "sequence": 2, "endpoint": "shop", "attempt": 2})
    handler = notifications.record_dead_event.build().get_user_function()
    handler(func.QueueMessage(id="m1", body=body.encode()))
    answer = call(notifications.list_run_events, "GET", "/api/runs/minato/events", run="minato")
    [delivery] = json.loads(answer.get_body())["events"][0]["deliveries"]
    assert delivery["state"] == "failed"
    assert delivery["last_error"] == "attempt 2 kept failing inside Tunedrop; see the host log"


def test_a_message_tunedrop_did_not_write_is_ignored_not_retried(app: Services) -> None:
    handler = notifications.deliver_event.build().get_user_function()
    handler(func.QueueMessage(id="m2", body=b"not json"))
    handler(func.QueueMessage(id="m3", body=b'{"run": "minato"}'))
