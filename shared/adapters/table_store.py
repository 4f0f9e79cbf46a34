"""`TableRunStore`: run records in Azure Table Storage, with ETag optimistic concurrency.

Layout: one table (RUNS_TABLE), partition "runs", three kinds of rows per run, always written
together in one entity-group transaction so they never disagree:

    RowKey "run|<name>"                      the record (JSON in Body0..BodyN)         always
    RowKey "active|<name>"                   a copy of the record                      while active
    RowKey "list|<13-digit inverted ms>|<name>"  name, state, times, model, deployment  always

The timer reads only the "active|" range, so a tick's cost grows with active runs, not with the
runs ever recorded. Listings read the "list|" range, newest first because the key inverts the
creation time. A save is conditional on the ETag of the row the record was read from; since
every save rewrites both rows, a concurrent save from either side makes it fail.

The events a save raises are written in its transaction too (`event_table.outbox_operations`).

Loss curve points live in their own partition "points|<name>": row "n" holds the chunk count, rows
"000000", "000001", ... hold up to 200 points each as JSON, keeping run rows small.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
from collections.abc import Iterator, Sequence
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
from azure.data.tables import TableClient, TableTransactionError, UpdateMode

from shared.adapters.azure_errors import azure_errors, translate
from shared.adapters.event_table import outbox_operations
from shared.errors import ConcurrentUpdate, InvalidInput
from shared.limits import cut, fit_json, storable_text
from shared.limits import parts as text_parts
from shared.pipeline.protocols import RunPage, RunSummary
from shared.runs.codec import run_from_dict, run_to_dict
from shared.runs.curves import LossPoint
from shared.runs.record import Run
from shared.runs.states import RunState

logger = logging.getLogger(__name__)

PARTITION = "runs"
# Characters per property: a string property holds 64 KiB of UTF-16, where a character outside
# the BMP takes 4 bytes (30,000 such characters would be 120 KB).
BODY_CHUNK = 15_000
MAX_LISTED_CHARS = 1000
RECORD_BUDGET = 900 * 1024  # bytes of the record's JSON (`stored_size`): an entity holds 1 MiB
POINTS_PER_ROW = 200
MAX_INVERTED = 10**13 - 1
MAX_TRANSACTION = 100  # entities in one entity-group transaction (Azurite cannot answer more)


class TableRunStore:
    """`RunStore` on Azure Table Storage (or Azurite). The table is created on first use."""

    def __init__(self, table: TableClient) -> None:
        self._table = table
        self._ready = False

    def _client(self) -> TableClient:
        if not self._ready:
            with (
                azure_errors(f"creating table {self._table.table_name}"),
                contextlib.suppress(ResourceExistsError),
            ):
                self._table.create_table()
            self._ready = True
        return self._table

    # -- records -------------------------------------------------------------------------------

    def find(self, name: str) -> Run | None:
        try:
            entity = self._client().get_entity(PARTITION, _run_key(name))
        except ResourceNotFoundError:
            return None
        except AzureError as exc:
            raise translate(exc, f"reading run {name!r}") from exc
        return _decode(entity, "run")

    def unchanged(self, name: str, version: str) -> Run | None:
        # Read the row the version came from: a save rewrites the other one too, so either
        # row's ETag tells whether anyone saved since.
        parts = version.split("|", 2)
        source, etag = (parts[0], parts[2]) if len(parts) == 3 else ("", "")
        key = {"run": _run_key(name), "active": _active_key(name)}.get(source)
        if key is None:
            return None
        try:
            entity = self._client().get_entity(PARTITION, key)
        except ResourceNotFoundError:
            return None
        except AzureError as exc:
            raise translate(exc, f"reading run {name!r}") from exc
        return _decode(entity, source) if entity.metadata["etag"] == etag else None

    def add(self, run: Run) -> None:
        operations: list[Any] = [("create", _record(run, _run_key(run.name)))]
        if run.is_active:
            operations.append(("create", _record(run, _active_key(run.name))))
        operations.append(("create", _listing(run)))
        self._commit(run, operations, f"adding run {run.name!r}")

    def save(self, run: Run) -> None:
        source, etag, was_active = _parse_version(run)
        condition = {"etag": etag, "match_condition": MatchConditions.IfNotModified}
        replace = {"mode": UpdateMode.REPLACE}
        record = _record(run, _run_key(run.name))
        active = _record(run, _active_key(run.name))
        operations: list[Any]
        if source == "run":
            operations = [("update", record, {**replace, **condition})]
            if run.is_active:
                operations.append(("upsert", active, replace))
            elif was_active:
                operations.append(("delete", _keys(active)))
        else:
            operations = [("upsert", record, replace)]
            if run.is_active:
                operations.append(("update", active, {**replace, **condition}))
            else:
                operations.append(("delete", _keys(active), condition))
        operations.append(("upsert", _listing(run), replace))
        self._commit(run, operations, f"saving run {run.name!r}")

    def _commit(self, run: Run, operations: list[Any], what: str) -> None:
        # The run's events go in the same transaction (a transactional outbox: see event_table).
        operations = [*operations, *outbox_operations(run)]
        if len(operations) > MAX_TRANSACTION:
            raise InvalidInput(f"{what}: {len(operations)} rows do not fit one transaction")
        try:
            results = self._client().submit_transaction(operations)
        except TableTransactionError as exc:
            if exc.status_code in (404, 409, 412):
                # A row another writer created, changed or deleted since this record was read.
                raise ConcurrentUpdate(f"{what}: another writer saved it first") from exc
            raise translate(exc, what) from exc
        except AzureError as exc:
            raise translate(exc, what) from exc
        etag = results[0]["etag"]
        run.raised.clear()
        run.version = f"run|{'A' if run.is_active else 'I'}|{etag}"

    def active(self) -> Iterator[Run]:
        query = f"PartitionKey eq '{PARTITION}' and RowKey ge 'active|' and RowKey lt 'active}}'"
        with azure_errors("listing active runs"):
            for entity in self._client().query_entities(query):
                yield _decode(entity, "active")

    def page(self, state: RunState | None, page_size: int, continuation: str | None) -> RunPage:
        query = f"PartitionKey eq '{PARTITION}' and RowKey ge 'list|' and RowKey lt 'list}}'"
        if state is not None:
            query += f" and State eq '{RunState(state).value}'"
        token = _decode_token(continuation)
        with azure_errors("listing runs"):
            pages = (
                self._client()
                .query_entities(query, results_per_page=page_size)
                .by_page(continuation_token=token)
            )
            rows = list(next(pages, []))
            next_token = pages.continuation_token  # type: ignore[attr-defined]
        runs = [
            RunSummary(
                name=row["Name"],
                state=RunState(row["State"]),
                created_at=row["CreatedAt"],
                updated_at=row["UpdatedAt"],
                stalled=bool(row.get("Stalled", False)),
                fine_tuned_model=row.get("FineTunedModel") or None,
                deployment=row.get("Deployment") or None,
                account=row.get("Account") or None,
                deployment_account=row.get("DeploymentAccount") or None,
            )
            for row in rows
        ]
        return RunPage(runs, _encode_token(next_token))

    # -- curves --------------------------------------------------------------------------------

    def save_points(self, name: str, points: Sequence[LossPoint]) -> None:
        partition = f"points|{name}"
        chunks = [points[i : i + POINTS_PER_ROW] for i in range(0, len(points), POINTS_PER_ROW)]
        operations: list[Any] = [
            ("upsert", {"PartitionKey": partition, "RowKey": f"{index:06d}", "Points": _points(c)})
            for index, c in enumerate(chunks)
        ]
        count = {"PartitionKey": partition, "RowKey": "n", "Rows": len(chunks)}
        operations.append(("upsert", count))
        with azure_errors(f"saving the loss curve of run {name!r}"):
            client = self._client()
            for start in range(0, len(operations), 100):  # a transaction holds 100 operations
                client.submit_transaction(operations[start : start + 100])

    def points(self, name: str) -> list[LossPoint]:
        partition = f"points|{name}"
        with azure_errors(f"reading the loss curve of run {name!r}"):
            client = self._client()
            try:
                rows = int(client.get_entity(partition, "n")["Rows"])
            except ResourceNotFoundError:
                return []
            query = f"PartitionKey eq '{partition}' and RowKey lt '{rows:06d}'"
            entities = sorted(client.query_entities(query), key=lambda e: e["RowKey"])
        return [LossPoint.from_dict(item) for e in entities for item in json.loads(e["Points"])]


def _run_key(name: str) -> str:
    return f"run|{name}"


def _active_key(name: str) -> str:
    return f"active|{name}"


def _keys(entity: dict[str, Any]) -> dict[str, Any]:
    return {"PartitionKey": entity["PartitionKey"], "RowKey": entity["RowKey"]}


def _record(run: Run, row_key: str) -> dict[str, Any]:
    # Texts from outside (reasons, problems, upstream messages) are cut, marked, only when the
    # record would not fit one entity; `shared.limits` says why and by how much.
    body = fit_json(run_to_dict(run), RECORD_BUDGET)
    if body is None:
        raise InvalidInput(f"run {run.name!r}: the record does not fit one table row")
    parts = text_parts(storable_text(body), BODY_CHUNK)
    entity: dict[str, Any] = {
        "PartitionKey": PARTITION,
        "RowKey": row_key,
        "State": run.state.value,
        "BodyParts": len(parts),
    }
    entity.update({f"Body{index}": part for index, part in enumerate(parts)})
    return entity


def _listing(run: Run) -> dict[str, Any]:
    inverted = MAX_INVERTED - int(run.created_at.timestamp() * 1000)
    return {
        "PartitionKey": PARTITION,
        "RowKey": f"list|{inverted:013d}|{run.name}",
        "Name": run.name,
        "State": run.state.value,
        "CreatedAt": run.created_at,
        "UpdatedAt": run.updated_at,
        "Stalled": run.stalled,
        "FineTunedModel": _listed((run.job.fine_tuned_model if run.job else None) or ""),
        "Deployment": _listed(run.deployment.name if run.deployment else ""),
        "Account": _listed(run.account or ""),
        "DeploymentAccount": _listed((run.deployment.account if run.deployment else None) or ""),
    }


def _listed(text: str) -> str:
    return storable_text(cut(text, MAX_LISTED_CHARS))  # a name from upstream; 1000 is plenty


def _decode(entity: Any, source: str) -> Run:
    parts = int(entity["BodyParts"])
    body = "".join(entity[f"Body{index}"] for index in range(parts))
    run = run_from_dict(json.loads(body))
    # An "active|" row exists exactly when the record, as saved, was active.
    run.version = f"{source}|{'A' if run.is_active else 'I'}|{entity.metadata['etag']}"
    return run


def _parse_version(run: Run) -> tuple[str, str, bool]:
    if not run.version or run.version.count("|") < 2:
        raise InvalidInput(f"run {run.name!r} was not read from this store; read it before saving")
    source, active, etag = run.version.split("|", 2)
    return source, etag, active == "A"


def _points(points: Sequence[LossPoint]) -> str:
    return json.dumps([point.to_dict() for point in points], separators=(",", ":"))


def _encode_token(token: Any) -> str | None:
    if not token:
        return None
    return base64.urlsafe_b64encode(json.dumps(token).encode()).decode()


def _decode_token(token: str | None) -> Any:
    if not token:
        return None
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        decoded = None
    # The table service's own continuation is an object of string keys and values.
    if not isinstance(decoded, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in decoded.items()
    ):
        raise InvalidInput("the continuation token is not one this service gave out")
    return decoded
