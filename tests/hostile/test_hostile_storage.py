"""Oversized and secret-bearing text from outside, stored in the runs table: on Azurite, and on
Azurite behind a table that refuses what Azure Table Storage documents it refuses
(`table_limits.DocumentedLimits`: Azurite itself is laxer). Every field a file, a receiver or a
service fills is at its longest at once; the run still reaches `failed`, each cut is marked, and
a SAS signature in a reason is masked in the event row, the events API and the deliveries."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.data.tables import TableClient, TableServiceClient
from azure.storage.blob import BlobServiceClient

from localdev.azurite import AzuritePorts
from localdev.emulator import Timings, running_emulator
from shared.adapters.event_table import TableEventStore
from shared.adapters.table_store import TableRunStore
from shared.bootstrap import build_services
from shared.notifications import service
from shared.notifications.service import Notifier
from shared.notifications.settings import NotificationSettings
from shared.pipeline.queries import get_run
from shared.pipeline.services import Services
from shared.runs.facts import (
    MAX_EVENTS,
    MAX_IGNORED,
    MAX_TIMELINE,
    DeploymentInfo,
    FileVerdict,
    IgnoredChange,
    JobEvent,
    JobInfo,
    RetryState,
    TimelineEntry,
)
from shared.runs.names import FileKind
from shared.runs.record import Run
from shared.runs.states import RunState
from tests.adapters.conftest import FixedTokenCredential, settings_for
from tests.adapters.test_full_run import drop, tick_until
from tests.hostile.table_limits import PROPERTY_LIMIT, DocumentedLimits
from tests.notifications.fakes import FakeDeliveryQueue
from tests.pipeline.data import TRAIN, VALIDATION

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
# The costliest text there is: outside the BMP (4 bytes in UTF-16, 12 as JSON escapes), CJK
# and ASCII, longer than a property holds.
HUGE = "run.json: key " + "界😀a" * 30_000
SAS = "https://acct.blob.core.windows.net/inbox/x?sv=2024-11-04&sig=SeCrEtSiG0123456789%3D"


@pytest.fixture(params=["azurite", "documented limits"])
def table(request: pytest.FixtureRequest, azurite: AzuritePorts) -> Any:
    service = TableServiceClient.from_connection_string(azurite.connection_string)
    client = service.get_table_client(f"runs{uuid.uuid4().hex[:12]}")
    return client if request.param == "azurite" else DocumentedLimits(client)


def raw_rows(table: Any) -> dict[str, dict[str, Any]]:
    client: TableClient = getattr(table, "_table", table)
    return {row["RowKey"]: dict(row) for row in client.list_entities()}


def longest_everything(run: Run) -> None:
    """Every field of the record that outside text reaches, at its longest, at once."""
    run.timeline = [TimelineEntry(T0, RunState.RUNNING, RunState.RUNNING, HUGE)] * MAX_TIMELINE
    run.ignored = [IgnoredChange(T0, FileKind.TRAIN, "0x8D", HUGE)] * MAX_IGNORED
    verdict = FileVerdict("0x8D", False, "x/train.jsonl.report.json", HUGE, T0,
                          {"problems": [HUGE] * 50, HUGE[:500]: HUGE})  # fmt: skip
    run.files = {FileKind.TRAIN: verdict, FileKind.VALIDATION: verdict}
    run.job = JobInfo("ftjob-1", "failed", T0, error=HUGE,
                      events=[JobEvent("e", T0, "error", HUGE)] * MAX_EVENTS)  # fmt: skip
    run.retry = RetryState("create_job", 3, T0, HUGE)
    run.deployment = DeploymentInfo("tunedrop-x", "Standard", 1, 24.0, T0, chosen_because=HUGE)
    run.raise_event("evaluated", T0, HUGE, data={"evaluation": {"sets": [{"name": HUGE}] * 200}})
    run.fail(HUGE, T0)


def test_a_run_with_every_outside_field_at_its_longest_is_saved_and_reaches_failed(
    table: Any,
) -> None:
    runs, events = TableRunStore(table), TableEventStore(table)
    runs.add(Run.new("kaiju", T0))
    run = runs.find("kaiju")
    assert run is not None
    longest_everything(run)
    runs.save(run)

    stored = runs.find("kaiju")
    assert stored is not None and stored.state is RunState.FAILED
    assert stored.failure_reason and "…[cut" in stored.failure_reason
    assert stored.failure_reason.startswith("run.json: key 界😀a")
    assert "…[cut" in stored.timeline[-1].reason
    listed = events.events("kaiju")
    assert [event.type for event in listed][-2:] == [
        "tunedrop.run.evaluated",
        "tunedrop.run.failed",
    ]
    assert "…[cut" in listed[-1].payload["data"]["failure_reason"]
    for key, row in raw_rows(table).items():
        for name, value in row.items():
            if isinstance(value, str):
                size = len(value.encode("utf-16-le", "surrogatepass"))
                assert size < PROPERTY_LIMIT, f"{key}.{name}: {size:,} bytes"


def test_azurite_enforces_only_the_property_limit(azurite: AzuritePorts) -> None:
    """What the README says of Azurite: it refuses a property over 64 KiB, but accepts an entity
    over 1 MiB and a transaction over 4 MiB, which Azure refuses."""
    service = TableServiceClient.from_connection_string(azurite.connection_string)
    client = service.create_table(f"lax{uuid.uuid4().hex[:12]}")
    with pytest.raises(HttpResponseError, match="PropertyValueTooLarge"):
        client.create_entity({"PartitionKey": "p", "RowKey": "big", "X": "a" * 33_000})
    wide = {f"X{index}": "a" * 30_000 for index in range(20)}  # 1.2 MB in UTF-16
    client.create_entity({"PartitionKey": "p", "RowKey": "wide", **wide})
    client.submit_transaction(
        [("create", {"PartitionKey": "p", "RowKey": f"t{n}", **wide}) for n in range(4)]
    )  # about 2.4 MB of JSON, 4.8 MB as stored


@pytest.fixture
def real_services(azurite: AzuritePorts) -> Iterator[Services]:
    """Every real adapter, on Azurite and the emulator, with a fresh table and containers."""
    with running_emulator(timings=Timings.fast()) as emulator:
        settings = settings_for(azurite, emulator)
        blobs = BlobServiceClient.from_connection_string(azurite.connection_string)
        blobs.create_container(settings.inbox_container)
        yield build_services(settings, FixedTokenCredential())


def test_a_run_json_with_a_huge_unknown_key_fails_the_run_on_azurite(
    real_services: Services, azurite: AzuritePorts
) -> None:
    """The reported case at its worst: the largest run.json Tunedrop reads, one unknown key of
    characters outside the BMP. Its reason is quoted in the record and twice in the event."""
    key = "😀" * 15_000
    run_json = json.dumps({key: 1}, ensure_ascii=False).encode()
    assert 60_000 < len(run_json) <= 64 * 1024
    table = real_services.runs._table  # type: ignore[attr-defined]
    services = replace(real_services, runs=TableRunStore(DocumentedLimits(table)))
    drop(services, azurite, "hoshi/run.json", run_json)
    drop(services, azurite, "hoshi/train.jsonl", TRAIN)
    drop(services, azurite, "hoshi/validation.jsonl", VALIDATION)
    assert tick_until(services, "hoshi", RunState.FAILED)[-1] is RunState.FAILED
    run = get_run(services.runs, "hoshi")
    assert run.failure_reason
    assert re.search(r"is not a run\.json field \(allowed: [a-z_, ]*\bdeploy, [a-z_, ]+\)$",
                     run.failure_reason)  # fmt: skip
    failed = TableEventStore(table).events("hoshi")[-1].payload
    assert failed["type"] == "tunedrop.run.failed"
    assert "…[cut" in failed["data"]["failure_reason"]


def test_a_sas_signature_in_a_reason_is_masked_in_the_event_row_the_api_and_deliveries(
    azurite: AzuritePorts,
) -> None:
    service_client = TableServiceClient.from_connection_string(azurite.connection_string)
    table = service_client.get_table_client(f"runs{uuid.uuid4().hex[:12]}")
    runs, events = TableRunStore(table), TableEventStore(table)
    runs.add(Run.new("himitsu", T0))
    run = runs.find("himitsu")
    assert run is not None
    run.fail(f"the upload of {SAS} failed: 403 AuthenticationFailed", T0)
    runs.save(run)

    secret = "SeCrEtSiG0123456789"
    event_rows = {k: v for k, v in raw_rows(table).items() if k.startswith("event|")}
    assert event_rows and not [k for k, v in event_rows.items() if secret in json.dumps(v)]
    notifier = Notifier(
        events=events, queue=FakeDeliveryQueue(), webhooks=None,  # type: ignore[arg-type]
        event_grid=None, settings=NotificationSettings(), clock=lambda: T0,
    )  # fmt: skip
    shown = json.dumps(service.run_events(notifier, "himitsu"))
    assert secret not in shown and "sig=***" in shown
    # What a webhook or Event Grid gets is the stored payload.
    assert all(secret not in json.dumps(event.payload) for event in events.events("himitsu"))
