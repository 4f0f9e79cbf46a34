"""Run events in the runs table on Azurite: written in the run's own transaction (a stale save
writes no event), listed as pending until handed over, deliveries saved conditionally."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from azure.data.tables import TableServiceClient

from shared.adapters.event_table import TableEventStore
from shared.adapters.table_store import TableRunStore
from shared.errors import ConcurrentUpdate
from shared.notifications.policy import DeliveryState
from shared.notifications.protocols import Delivery
from shared.runs.record import Run
from tests.pipeline.fakes import T0


@pytest.fixture
def stores(azurite) -> tuple[TableRunStore, TableEventStore]:
    service = TableServiceClient.from_connection_string(azurite.connection_string)
    name = f"runs{uuid.uuid4().hex[:12]}"
    return TableRunStore(service.get_table_client(name)), TableEventStore(
        service.get_table_client(name)
    )


def test_a_move_and_its_event_are_saved_together_and_wait_to_be_handed_over(stores) -> None:
    runs, events = stores
    run = Run.new("minato", T0)
    runs.add(run)
    assert run.raised == []  # saved, so cleared
    stored = runs.find("minato")
    assert stored is not None
    stored.fail("train.jsonl is not JSONL", T0)
    runs.save(stored)

    assert events.pending() == [("minato", 1), ("minato", 2)]
    listed = events.events("minato")
    assert [(e.sequence, e.type) for e in listed] == [
        (1, "tunedrop.run.waiting_for_files"),
        (2, "tunedrop.run.failed"),
    ]
    assert listed[1].payload["data"]["reason"] == "train.jsonl is not JSONL"
    assert listed[0].id != listed[1].id and listed[1].id.startswith("evt_")
    events.handed_over("minato", 1)
    assert events.pending() == [("minato", 2)]
    assert runs.find("minato").event_sequence == 2  # type: ignore[union-attr]


def test_a_save_that_loses_to_another_writer_writes_no_event(stores) -> None:
    runs, events = stores
    runs.add(Run.new("minato", T0))
    first, second = runs.find("minato"), runs.find("minato")
    assert first is not None and second is not None
    first.fail("first writer", T0)
    runs.save(first)
    second.cancel(T0, "second writer")
    with pytest.raises(ConcurrentUpdate):
        runs.save(second)
    assert [e.payload["data"]["reason"] for e in events.events("minato")] == [
        "first file arrived",
        "first writer",
    ]


def test_a_delivery_is_saved_only_if_unchanged_since_read(stores) -> None:
    _, events = stores
    events.start_delivery(Delivery("minato", 1, "shop"))
    events.start_delivery(Delivery("minato", 1, "shop", attempts=9))  # exists: unchanged
    read = events.delivery("minato", 1, "shop")
    assert read is not None and read.attempts == 0 and read.state is DeliveryState.PENDING
    saved = events.save_delivery(replace(read, attempts=1, sending_since=T0))
    with pytest.raises(ConcurrentUpdate):
        events.save_delivery(replace(read, attempts=1))
    done = events.save_delivery(replace(saved, state=DeliveryState.DELIVERED, last_status=200))
    again = events.delivery("minato", 1, "shop")
    assert again == done and again.last_status == 200 and again.sending_since == T0


def test_an_endpoint_disabled_at_one_url_is_enabled_again_at_another(stores) -> None:
    _, events = stores
    events.disable("shop", "https://a.example.com", "answered 410 Gone")
    assert events.disabled("shop", "https://a.example.com") == "answered 410 Gone"
    assert events.disabled("shop", "https://b.example.com") is None
