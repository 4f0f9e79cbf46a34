"""The Event Grid stand-in through the real `azure-eventgrid` client: it records what the SDK
publishes with the key, and refuses what the service would refuse."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import ClientAuthenticationError
from azure.core.messaging import CloudEvent
from azure.eventgrid import EventGridPublisherClient

from localdev.emulator import Emulator


def published(emulator: Emulator) -> list[dict]:
    with urllib.request.urlopen(f"{emulator.url}/_emulator/eventgrid/events") as answer:
        return json.load(answer)["data"]


def publisher(emulator: Emulator, key: str) -> EventGridPublisherClient:
    return EventGridPublisherClient(
        f"{emulator.url}/api/events", AzureKeyCredential(key), retry_total=0
    )


def test_cloud_events_published_with_the_key_are_recorded(emulator: Emulator) -> None:
    event = CloudEvent(
        source="/tunedrop/runs/kitsune", type="tunedrop.run.deployed", subject="kitsune",
        data={"run": "kitsune", "sequence": 8}, id="evt_" + "1" * 32,
    )  # fmt: skip
    publisher(emulator, emulator.api_key).send([event])
    [recorded] = [e for e in published(emulator) if e["id"] == event.id]
    assert recorded["specversion"] == "1.0" and recorded["type"] == "tunedrop.run.deployed"
    assert recorded["data"] == {"run": "kitsune", "sequence": 8}


def test_a_wrong_key_or_a_body_that_is_not_cloud_events_is_refused(emulator: Emulator) -> None:
    event = CloudEvent(source="/x", type="t", data={})
    with pytest.raises(ClientAuthenticationError):
        publisher(emulator, "wrong").send([event])
    request = urllib.request.Request(
        f"{emulator.url}/api/events?api-version=2018-01-01",
        data=b'[{"id": "1"}]',
        method="POST",
        headers={"aeg-sas-key": emulator.api_key,
                 "content-type": "application/cloudevents-batch+json; charset=utf-8"},
    )  # fmt: skip
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)
    assert refused.value.code == 400
    assert "not a CloudEvent 1.0" in json.load(refused.value)["error"]["message"]
