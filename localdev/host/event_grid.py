"""A stand-in for the Event Grid system topic of a storage account, which Azurite does not have.

In Azure, storage publishes `Microsoft.Storage.BlobCreated` to its system topic and an event
subscription (filtered on the inbox container) POSTs each event to the host's blobs webhook,
retrying until the webhook accepts it. Here, `BlobCreatedPublisher` lists the container, and
for each blob version (name and ETag) it has not delivered, POSTs one event to the webhook the
same way. A delivery is recorded in storage only once the webhook accepted it (2xx), so delivery
is at least once and a restart does not deliver again; a blob uploaded while the host was down
is delivered when it comes back, as Event Grid's retries would.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobProperties, BlobServiceClient, LinearRetry

from localdev.host.background import PollingLoop
from localdev.host.blob_events import blob_created_event, validation_event

logger = logging.getLogger(__name__)

DELIVERIES_CONTAINER = "azure-webjobs-hosts"  # beside the host's receipts, out of the way
POST_TIMEOUT_SECONDS = 30


class DeliveryRefused(RuntimeError):
    """The webhook did not accept an event or the handshake; the message says how."""


def post_events(
    url: str, events: list[dict[str, Any]], kind: str = "Notification"
) -> dict[str, Any]:
    """POSTs events to a webhook as Event Grid does; the decoded answer, or DeliveryRefused."""
    request = urllib.request.Request(
        url,
        data=json.dumps(events).encode(),
        method="POST",
        headers={"content-type": "application/json", "aeg-event-type": kind},
    )
    shown = urlsplit(url)._replace(query="").geturl()  # never the query: it holds the key
    try:
        with urllib.request.urlopen(request, timeout=POST_TIMEOUT_SECONDS) as response:
            body = response.read()
    except urllib.error.HTTPError as error:
        raise DeliveryRefused(f"{shown} answered {error.code}: {error.read()[:300]!r}") from error
    except OSError as error:
        raise DeliveryRefused(f"{shown} could not be reached: {error}") from error
    return json.loads(body) if body else {}


def validate_subscription(url: str) -> None:
    """The handshake Event Grid makes when a webhook subscription is created."""
    code = secrets.token_hex(16)
    answer = post_events(url, [validation_event(code)], kind="SubscriptionValidation")
    if answer.get("validationResponse") != code:
        shown = urlsplit(url)._replace(query="").geturl()
        raise DeliveryRefused(f"{shown} did not echo the validation code: {answer!r}")


class BlobCreatedPublisher(PollingLoop):
    """Delivers a `BlobCreated` event to `webhook_url` for each new or changed blob of one
    container: an event subscription named `subscription` on the local system topic."""

    def __init__(
        self,
        connection_string: str,
        container: str,
        webhook_url: str,
        *,
        subscription: str,
        poll_seconds: float = 1.0,
    ) -> None:
        super().__init__(f"eventgrid-{subscription}", poll_seconds)
        # A few short SDK retries, as for the trigger queues (queues.trigger_retry): the loop
        # scans again anyway, and the SDK's default would sleep 15 s and more inside one scan.
        service = BlobServiceClient.from_connection_string(
            connection_string,
            retry_policy=LinearRetry(backoff=0.5, retry_total=3, random_jitter_range=0.2),  # type: ignore[arg-type]
        )
        self.container = service.get_container_client(container)
        self.deliveries = service.get_container_client(DELIVERIES_CONTAINER)
        self.webhook_url = webhook_url
        self.prefix = f"eventgrid/{subscription}"
        self._delivered: set[tuple[str, str]] = set()
        self._validated = False
        self.scans = 0  # completed scans of the container, for tests to wait on

    def prepare(self) -> None:
        for container in (self.container, self.deliveries):
            with contextlib.suppress(ResourceExistsError):
                container.create_container()

    def poll_once(self) -> bool:
        if not self._validated:
            try:
                validate_subscription(self.webhook_url)
            except DeliveryRefused as exc:
                logger.warning("Event Grid stand-in: handshake failed (%s); retrying", exc)
                return False
            self._validated = True
        delivered = False
        for blob in self.container.list_blobs():
            if self._stop.is_set():
                break
            version = (blob.name, str(blob.etag).strip('"'))
            if version not in self._delivered and self._deliver(blob, *version):
                self._delivered.add(version)
                delivered = True
        self.scans += 1
        # Files of a run arrive together: after delivering one, look again at once.
        return delivered

    def _deliver(self, blob: BlobProperties, name: str, etag: str) -> bool:
        record = self.deliveries.get_blob_client(
            f"{self.prefix}/{etag}/{self.container.container_name}/{name}"
        )
        if record.exists():
            return True
        event = blob_created_event(
            container=self.container.container_name,
            blob_name=name,
            url=self.container.get_blob_client(name).url,
            etag=etag,
            content_length=int(blob.size or 0),
            content_type=blob.content_settings.content_type or "application/octet-stream",
        )
        try:
            post_events(self.webhook_url, [event])
        except DeliveryRefused:
            logger.warning("Event Grid stand-in: %s not delivered yet; retrying", name)
            return False
        with contextlib.suppress(ResourceExistsError):
            record.upload_blob(json.dumps(event).encode())
        return True
