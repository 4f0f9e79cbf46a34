"""A runs table that refuses what Azure Table Storage documents it refuses, in front of Azurite,
which enforces the 64 KiB property limit but neither the 1 MiB entity nor the 4 MiB transaction
limit (checked by `test_hostile_storage.py::test_azurite_enforces_only_the_property_limit`).

Sizes follow the service's documented formula: 4 + 2 x (PartitionKey + RowKey) and, per
property, 8 + 2 x the name + the value (UTF-16 for a string). A transaction's request is the
JSON the SDK sends, with non-ASCII characters as \\u escapes."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from azure.data.tables import TableClient

PROPERTY_LIMIT = 64 * 1024
ENTITY_LIMIT = 1024 * 1024
TRANSACTION_LIMIT = 4 * 1024 * 1024
MAX_PROPERTIES = 252  # 255 less PartitionKey, RowKey and Timestamp
MAX_OPERATIONS = 100


class LimitExceeded(AssertionError):
    """Azure Table Storage would refuse this write."""


def value_size(value: Any) -> int:
    if isinstance(value, str):
        return 4 + len(value.encode("utf-16-le", "surrogatepass"))
    if isinstance(value, bool):
        return 1
    if isinstance(value, int | float | datetime):
        return 8
    return 4 + len(str(value).encode("utf-16-le", "surrogatepass"))


def entity_size(entity: dict[str, Any]) -> int:
    keys = str(entity.get("PartitionKey", "")) + str(entity.get("RowKey", ""))
    size = 4 + 2 * len(keys)
    for name, value in entity.items():
        if name in ("PartitionKey", "RowKey"):
            continue
        size += 8 + 2 * len(name) + value_size(value)
    return size


def check_entity(entity: dict[str, Any]) -> None:
    where = f"{entity.get('RowKey')!r}"
    for name, value in entity.items():
        if isinstance(value, str) and len(value.encode("utf-16-le", "surrogatepass")) > (
            PROPERTY_LIMIT
        ):
            raise LimitExceeded(f"{where}: property {name} is over 64 KiB")
    if len(entity) - 2 > MAX_PROPERTIES:
        raise LimitExceeded(f"{where}: {len(entity)} properties")
    if entity_size(entity) > ENTITY_LIMIT:
        raise LimitExceeded(f"{where}: entity of {entity_size(entity):,} bytes is over 1 MiB")


class DocumentedLimits:
    """A `TableClient` that checks each write against the documented limits, then makes it."""

    def __init__(self, table: TableClient) -> None:
        self._table = table
        self.largest_transaction = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)

    def create_entity(self, entity: dict[str, Any], **options: Any) -> Any:
        check_entity(entity)
        return self._table.create_entity(entity, **options)

    def upsert_entity(self, entity: dict[str, Any], *args: Any, **options: Any) -> Any:
        check_entity(entity)
        return self._table.upsert_entity(entity, *args, **options)

    def update_entity(self, entity: dict[str, Any], *args: Any, **options: Any) -> Any:
        check_entity(entity)
        return self._table.update_entity(entity, *args, **options)

    def submit_transaction(self, operations: Any, **options: Any) -> Any:
        operations = list(operations)
        if len(operations) > MAX_OPERATIONS:
            raise LimitExceeded(f"{len(operations)} operations in one transaction")
        size = 0
        for operation in operations:
            entity = operation[1]
            check_entity(entity)
            size += len(json.dumps(entity, default=str))
        self.largest_transaction = max(self.largest_transaction, size)
        if size > TRANSACTION_LIMIT:
            raise LimitExceeded(f"a transaction of {size:,} bytes is over 4 MiB")
        return self._table.submit_transaction(operations, **options)
