"""`TableEventStore`: a run's events, their deliveries and disabled endpoints in the runs table.

Rows sit in the runs' partition ("runs", see `table_store`), beside the run rows:

    RowKey "event|<run>|<sequence:06d>"               the event: id, type, payload    immutable
    RowKey "outbox|<run>|<sequence:06d>"              not yet handed to the queue     deleted then
    RowKey "delivery|<run>|<sequence:06d>|<endpoint>" one endpoint's delivery state
    RowKey "endpoint|<name>|<url hash>"               an endpoint disabled by a 410 (or
                                                      enabled again), with its history

The event and outbox rows are written by `TableRunStore` in the entity-group transaction that
saves the run row under its ETag (`outbox_operations`): the move and its event are saved together
or not at all. The sweeper reads only the "outbox|" range, so its cost grows with what is
pending, not with every event ever raised.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.data.tables import TableClient, UpdateMode

from shared.adapters.azure_errors import azure_errors
from shared.limits import compact_json, cut, fit_json, storable_text
from shared.notifications.events import event_payload, new_event_id
from shared.notifications.policy import DeliveryState
from shared.notifications.protocols import Delivery, StoredEvent
from shared.runs.record import Run

PARTITION = "runs"  # the run rows' partition: one entity-group transaction holds both
MAX_REASON = 2000  # characters of a delivery's last error
# An event row's payload stays well under a property's 64 KiB, and a save's events together
# under 1.5 MiB of its transaction's 4 MiB (two record rows take at most 2 x 900 KiB).
EVENT_BUDGET = 60_000
EVENTS_BUDGET = 1536 * 1024
MAX_EVENT_ITEMS = 50  # items of one list or object in an event's data
MAX_ENDPOINT_HISTORY = 20  # disablings and enablings kept on an endpoint's row


def outbox_operations(run: Run) -> list[tuple[str, dict[str, Any]]]:
    """The rows that record the events `run` raised since it was read: add them to the
    transaction that saves the run."""
    operations: list[tuple[str, dict[str, Any]]] = []
    budget = min(EVENT_BUDGET, EVENTS_BUDGET // max(len(run.raised), 1))
    for raised in run.raised:
        payload = event_payload(run, raised, new_event_id())
        key = f"{run.name}|{raised.sequence:06d}"
        event = {
            "PartitionKey": PARTITION,
            "RowKey": f"event|{key}",
            "Id": payload["id"],
            "Type": payload["type"],
            "Run": run.name,
            "Sequence": raised.sequence,
            "Payload": _fitted(payload, budget),
        }
        marker = {"PartitionKey": PARTITION, "RowKey": f"outbox|{key}", "Run": run.name}
        operations += [("create", event), ("create", marker)]
    return operations


def _fitted(payload: dict[str, Any], budget: int) -> str:
    """The payload's JSON within `budget` bytes: its data's texts and lists cut (marked) as
    little as needed; at worst only the fields every event has, with the reason cut short."""
    data = payload["data"]
    text = fit_json({**payload, "data": data}, budget, max_items=MAX_EVENT_ITEMS)
    if text is not None:
        return storable_text(text)
    essentials = ("run", "state", "previous_state", "sequence", "reason")
    least = {key: data.get(key) for key in essentials} | {"cut": True}
    least["reason"] = cut(str(least["reason"] or ""), 200)
    return storable_text(compact_json({**payload, "data": least}))


class TableEventStore:
    """`EventStore` on the runs table (Azure Table Storage or Azurite)."""

    def __init__(self, table: TableClient) -> None:
        self._table = table
        self._ready = False

    def _client(self) -> TableClient:
        if not self._ready:
            with azure_errors("creating the runs table"), contextlib.suppress(ResourceExistsError):
                self._table.create_table()
            self._ready = True
        return self._table

    def pending(self) -> list[tuple[str, int]]:
        with azure_errors("listing pending events"):
            rows = list(self._client().query_entities(_range("outbox|"), select=["RowKey"]))
        keys = sorted(row["RowKey"].split("|", 2)[1:] for row in rows)
        return [(run, int(sequence)) for run, sequence in keys]

    def event(self, run: str, sequence: int) -> StoredEvent | None:
        with azure_errors(f"reading event {sequence} of run {run!r}"):
            try:
                row = self._client().get_entity(PARTITION, f"event|{run}|{sequence:06d}")
            except ResourceNotFoundError:
                return None
        return _event(row)

    def events(self, run: str) -> list[StoredEvent]:
        with azure_errors(f"listing the events of run {run!r}"):
            rows = list(self._client().query_entities(_range(f"event|{run}|")))
        return sorted((_event(row) for row in rows), key=lambda event: event.sequence)

    def handed_over(self, run: str, sequence: int) -> None:
        with azure_errors(f"marking event {sequence} of run {run!r} as queued"):
            self._client().delete_entity(PARTITION, f"outbox|{run}|{sequence:06d}")

    def delivery(self, run: str, sequence: int, endpoint: str) -> Delivery | None:
        key = _delivery_key(run, sequence, endpoint)
        with azure_errors(f"reading a delivery of run {run!r}"):
            try:
                row = self._client().get_entity(PARTITION, key)
            except ResourceNotFoundError:
                return None
        return _delivery(row)

    def deliveries(self, run: str) -> list[Delivery]:
        with azure_errors(f"listing the deliveries of run {run!r}"):
            rows = list(self._client().query_entities(_range(f"delivery|{run}|")))
        return sorted((_delivery(row) for row in rows), key=lambda d: (d.sequence, d.endpoint))

    def start_delivery(self, delivery: Delivery) -> None:
        with (
            azure_errors(f"recording a delivery of run {delivery.run!r}"),
            contextlib.suppress(ResourceExistsError),
        ):
            self._client().create_entity(_delivery_row(delivery))

    def save_delivery(self, delivery: Delivery) -> Delivery:
        with azure_errors(f"saving a delivery of run {delivery.run!r}"):
            if delivery.version:
                metadata = self._client().update_entity(
                    _delivery_row(delivery),
                    mode=UpdateMode.REPLACE,
                    etag=delivery.version,
                    match_condition=MatchConditions.IfNotModified,
                )
            else:
                metadata = self._client().upsert_entity(
                    _delivery_row(delivery), mode=UpdateMode.REPLACE
                )
        return Delivery(**{**delivery.__dict__, "version": metadata["etag"]})

    def disabled(self, endpoint: str, url: str) -> str | None:
        row = self._endpoint_row(endpoint, url)
        if row is None or row.get("State") == "enabled":
            return None
        return str(row.get("Reason") or "disabled")

    def disable(self, endpoint: str, url: str, reason: str) -> None:
        self._record_endpoint(endpoint, url, "disabled", reason, datetime.now(UTC))

    def enable(self, endpoint: str, url: str, at: datetime) -> str | None:
        was = self.disabled(endpoint, url)
        if was is not None:
            self._record_endpoint(endpoint, url, "enabled", "enabled through the API", at)
        return was

    def _endpoint_row(self, endpoint: str, url: str) -> Any:
        with azure_errors(f"reading endpoint {endpoint!r}"):
            try:
                return self._client().get_entity(PARTITION, _endpoint_key(endpoint, url))
            except ResourceNotFoundError:
                return None

    def _record_endpoint(
        self, endpoint: str, url: str, state: str, reason: str, at: datetime
    ) -> None:
        # The row keeps the last changes, so an enabled endpoint still shows why it was off.
        row = self._endpoint_row(endpoint, url)
        history = json.loads(row.get("History") or "[]") if row is not None else []
        history = [*history, {"at": at.isoformat(), "action": state, "reason": cut(reason, 300)}]
        entity = {
            "PartitionKey": PARTITION,
            "RowKey": _endpoint_key(endpoint, url),
            "State": state,
            "Reason": cut(reason, MAX_REASON) if state == "disabled" else row.get("Reason", ""),
            "History": compact_json(history[-MAX_ENDPOINT_HISTORY:]),
        }
        with azure_errors(f"recording endpoint {endpoint!r} as {state}"):
            self._client().upsert_entity(entity, mode=UpdateMode.REPLACE)


def _range(prefix: str) -> str:
    # "|" + 1 is "}": every key that starts with the prefix sorts before prefix[:-1] + "}".
    end = prefix[:-1] + "}"
    return f"PartitionKey eq '{PARTITION}' and RowKey ge '{prefix}' and RowKey lt '{end}'"


def _delivery_key(run: str, sequence: int, endpoint: str) -> str:
    return f"delivery|{run}|{sequence:06d}|{endpoint}"


def _endpoint_key(endpoint: str, url: str) -> str:
    # A changed URL is a new endpoint: pointing a disabled one elsewhere enables it again.
    return f"endpoint|{endpoint}|{hashlib.sha256(url.encode()).hexdigest()[:16]}"


def _event(row: Any) -> StoredEvent:
    return StoredEvent(
        run=row["Run"],
        sequence=int(row["Sequence"]),
        id=row["Id"],
        type=row["Type"],
        payload=json.loads(row["Payload"]),
    )


def _delivery_row(delivery: Delivery) -> dict[str, Any]:
    return {
        "PartitionKey": PARTITION,
        "RowKey": _delivery_key(delivery.run, delivery.sequence, delivery.endpoint),
        "Run": delivery.run,
        "Sequence": delivery.sequence,
        "Endpoint": delivery.endpoint,
        "State": delivery.state.value,
        "Attempts": delivery.attempts,
        "LastStatus": delivery.last_status if delivery.last_status is not None else -1,
        "LastError": (delivery.last_error or "")[:MAX_REASON],
        "NextAttemptAt": _text(delivery.next_attempt_at),
        "SendingSince": _text(delivery.sending_since),
        "UpdatedAt": _text(delivery.updated_at),
    }


def _delivery(row: Any) -> Delivery:
    status = int(row.get("LastStatus", -1))
    return Delivery(
        run=row["Run"],
        sequence=int(row["Sequence"]),
        endpoint=row["Endpoint"],
        state=DeliveryState(row["State"]),
        attempts=int(row["Attempts"]),
        last_status=status if status >= 0 else None,
        last_error=row.get("LastError") or None,
        next_attempt_at=_time(row.get("NextAttemptAt")),
        sending_since=_time(row.get("SendingSince")),
        updated_at=_time(row.get("UpdatedAt")),
        version=row.metadata["etag"],
    )


def _text(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
