"""The host's blobs webhook, `/runtime/webhooks/blobs?functionName=Host.Functions.<name>`.

Event Grid delivers blob events there for functions whose blob trigger has `source: EventGrid`.
As in the Functions host: the header `aeg-event-type: SubscriptionValidation` is the handshake
Event Grid makes when a subscription is created (the answer echoes `validationCode`);
`Notification` carries events, each queued for the function before the answer, 202 Accepted, so
none is lost once accepted; `Unsubscribe` is acknowledged. In Azure the URL also needs
`code=<blobs_extension system key>`; locally a key is asked for only when the host enforces
function keys (`LOCALDEV_FUNCTION_KEY`), and then it is that key.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from azure.core.exceptions import AzureError

from localdev.host.blob_events import EventError, event_type, events_in, validation_code

logger = logging.getLogger(__name__)

PATH = "/runtime/webhooks/blobs"
FUNCTION_ID_PREFIX = "Host.Functions."


class NotificationQueue(Protocol):
    def enqueue(self, event: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class WebhookAnswer:
    status: int
    body: dict[str, Any] = field(default_factory=dict)


class BlobWebhook:
    """Answers the blobs webhook for the Event Grid blob functions in `queues` (by name)."""

    def __init__(self, queues: Mapping[str, NotificationQueue], function_key: str = "") -> None:
        self.queues = dict(queues)
        self.function_key = function_key

    def handle(
        self, method: str, query: Mapping[str, str], headers: Mapping[str, str], body: bytes
    ) -> WebhookAnswer:
        if method != "POST":
            return _problem(405, "the blobs webhook takes POST")
        if self.function_key and not hmac.compare_digest(
            query.get("code", "").encode(), self.function_key.encode()
        ):
            return _problem(401, "the blobs webhook needs ?code=<key>")
        function_id = query.get("functionName", "")
        name = function_id.removeprefix(FUNCTION_ID_PREFIX)
        queue = self.queues.get(name) if function_id.startswith(FUNCTION_ID_PREFIX) else None
        if queue is None:
            known = ", ".join(FUNCTION_ID_PREFIX + n for n in sorted(self.queues)) or "none"
            return _problem(
                404,
                f"functionName={function_id!r} is not a blob function with source EventGrid "
                f"(known: {known})",
            )
        kind = next((v for k, v in headers.items() if k.lower() == "aeg-event-type"), "")
        try:
            payload = json.loads(body or b"null")
            if kind.lower() == "subscriptionvalidation":
                logger.info("Event Grid handshake for %s", function_id)
                return WebhookAnswer(200, {"validationResponse": validation_code(payload)})
            if kind.lower() == "notification":
                events = events_in(payload)
                try:
                    for event in events:
                        queue.enqueue(event)
                except AzureError as exc:
                    # Not accepted: Event Grid delivers again later (a repeat is harmless).
                    logger.warning("Storage refused an event for %s: %s", function_id, exc)
                    return _problem(503, "storage is unavailable; deliver again later")
                logger.info(
                    "Event Grid delivered %d event(s) for %s: %s",
                    len(events), function_id, ", ".join(event_type(e) for e in events),
                )  # fmt: skip
                return WebhookAnswer(202)
        except (ValueError, EventError) as exc:
            return _problem(400, f"not Event Grid events: {exc}")
        if kind.lower() == "unsubscribe":
            return WebhookAnswer(202)
        return _problem(
            400, "the header aeg-event-type must be SubscriptionValidation or Notification"
        )


def _problem(status: int, detail: str) -> WebhookAnswer:
    return WebhookAnswer(status, {"detail": detail})
