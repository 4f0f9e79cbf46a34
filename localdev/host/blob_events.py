"""Event Grid `Microsoft.Storage.BlobCreated` events: building them, and reading the blob they name.

Storage publishes them to its system topic in the Event Grid schema (a JSON array of events with
`eventType`, `subject`, `data`); an event subscription may also deliver the CloudEvents schema
(one object with `type`). The blobs webhook of the Functions host accepts both.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

BLOB_CREATED = "Microsoft.Storage.BlobCreated"
VALIDATION_EVENT = "Microsoft.EventGrid.SubscriptionValidationEvent"
SUBJECT = re.compile(r"^/blobServices/default/containers/(?P<container>[^/]+)/blobs/(?P<blob>.+)$")


class EventError(ValueError):
    """A webhook body that is not Event Grid events; the message says what is wrong."""


@dataclass(frozen=True)
class BlobCreated:
    """The blob a `BlobCreated` event is about."""

    container: str
    blob_name: str
    etag: str = ""


def blob_created_event(
    *,
    container: str,
    blob_name: str,
    url: str,
    etag: str = "",
    content_length: int = 0,
    content_type: str = "application/octet-stream",
    topic: str = "/subscriptions/local/resourceGroups/local/providers/"
    "Microsoft.Storage/storageAccounts/devstoreaccount1",
) -> dict[str, Any]:
    """One `BlobCreated` event in the Event Grid schema, as storage publishes it."""
    return {
        "topic": topic,
        "subject": f"/blobServices/default/containers/{container}/blobs/{blob_name}",
        "eventType": BLOB_CREATED,
        "id": str(uuid.uuid4()),
        "eventTime": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "dataVersion": "",
        "metadataVersion": "1",
        "data": {
            "api": "PutBlob",
            "eTag": etag.strip('"'),
            "contentType": content_type,
            "contentLength": content_length,
            "blobType": "BlockBlob",
            "url": url,
            "sequencer": f"{uuid.uuid4().int:048d}"[:48],
        },
    }


def validation_event(code: str) -> dict[str, Any]:
    """The event Event Grid sends when a subscription is created, to check the endpoint."""
    return {
        "id": str(uuid.uuid4()),
        "topic": "/subscriptions/local",
        "subject": "",
        "eventType": VALIDATION_EVENT,
        "eventTime": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "data": {"validationCode": code},
        "dataVersion": "2",
        "metadataVersion": "1",
    }


def events_in(body: Any) -> list[dict[str, Any]]:
    """The events of a webhook body: an array (Event Grid schema) or one object (CloudEvents)."""
    events = [body] if isinstance(body, dict) else body
    if not isinstance(events, list) or not all(isinstance(event, dict) for event in events):
        raise EventError("the body must be an Event Grid event array or one CloudEvent object")
    return events


def event_type(event: dict[str, Any]) -> str:
    return str(event.get("eventType") or event.get("type") or "")


def blob_of(event: dict[str, Any]) -> BlobCreated | None:
    """The blob a `BlobCreated` event names, or None for another kind of event."""
    if event_type(event) != BLOB_CREATED:
        return None
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    found = SUBJECT.match(str(event.get("subject") or ""))
    if found is None:
        raise EventError(
            f"event {event.get('id')!r}: subject must be "
            "/blobServices/default/containers/<container>/blobs/<blob>"
        )
    return BlobCreated(found["container"], found["blob"], str(data.get("eTag") or ""))


def validation_code(body: Any) -> str:
    """The code a subscription validation event carries, to be echoed back."""
    events = events_in(body)
    data = events[0].get("data") if events else None
    code = data.get("validationCode") if isinstance(data, dict) else None
    if not isinstance(code, str) or not code:
        raise EventError("a SubscriptionValidation event must carry data.validationCode")
    return code
