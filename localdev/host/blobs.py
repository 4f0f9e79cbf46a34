"""Runs blob-triggered functions for the Event Grid notifications the blobs webhook received.

As in the Functions host, the webhook (`localdev.host.blob_webhook`) only queues each `BlobCreated`
event (in `azure-webjobs-blobtrigger-...`); this runner takes them from the queue and calls the
function on the blob's current version. Receipts live in storage as the real host keeps them
(`azure-webjobs-hosts/blobreceipts/...`), keyed by function, ETag and blob name, so a repeated
event or a restart does not fire a blob version again. A receipt is leased while its blob is
processed so that two hosts on one storage account do not both run it. A blob whose function
keeps failing is tried `poisonBlobThreshold` times in all (host.json), then a message goes to the
`webjobs-blobtrigger-poison` queue and the blob is left alone.
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import json
import logging
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import azure.functions as func
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
)
from azure.storage.blob import BlobServiceClient, ContainerClient
from azure.storage.queue import QueueClient, QueueMessage, TextBase64EncodePolicy
from azurefunctions.extensions.base import Datum
from azurefunctions.extensions.bindings.blob import BlobClientConverter

from localdev.host.background import PollingLoop
from localdev.host.blob_events import EventError, blob_of
from localdev.host.discovery import BlobFunction
from localdev.host.invoke import call_handler
from localdev.host.queues import trigger_retry

logger = logging.getLogger(__name__)

RECEIPTS_CONTAINER = "azure-webjobs-hosts"
POISON_QUEUE = "webjobs-blobtrigger-poison"
LEASE_SECONDS = 60
VISIBILITY_SECONDS = 60
# A notification whose blob another host is processing comes back after this long.
BUSY_RETRY_SECONDS = 5
# Like the host's queue-based blob trigger, up to this many notifications run at once, and new
# ones are taken while others run: the files of a run are validated side by side, not in turn.
BATCH_SIZE = 8


class Outcome(enum.Enum):
    SETTLED = "settled"  # done, or given up on (poison)
    RETRY = "retry"  # the function failed; try again
    BUSY = "busy"  # another host holds the receipt


@dataclass(frozen=True)
class ModelBindingData:
    """What the Python worker hands SDK-type binding converters for a blob."""

    version: str
    source: str
    content_type: str
    content: str


def notification_queue_name(function: BlobFunction, subscription: str) -> str:
    """The queue holding the notifications of one function from one event subscription. Each
    local host is its own subscription, so two hosts on one storage account both hear of every
    blob and settle who runs it through the receipt, as before they both scanned the container."""
    key = f"{function.name}|{function.container}|{subscription}"
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"azure-webjobs-blobtrigger-{digest[:24]}"


class BlobTriggerRunner(PollingLoop):
    """Calls one function for each queued notification of a blob version it has not run yet."""

    def __init__(
        self,
        function: BlobFunction,
        connection_string: str,
        *,
        max_dequeue_count: int = 5,
        poll_seconds: float = 1.0,
        host_id: str = "localdev",
        subscription: str = "",
    ) -> None:
        super().__init__(f"blob-{function.name}", poll_seconds)
        self.function = function
        self.connection_string = connection_string
        self.max_dequeue_count = max_dequeue_count
        self.service = BlobServiceClient.from_connection_string(connection_string)
        self.container: ContainerClient = self.service.get_container_client(function.container)
        self.receipts = self.service.get_container_client(RECEIPTS_CONTAINER)
        self.receipt_prefix = f"blobreceipts/{host_id}/{function.name}"
        self.name_pattern = _blob_name_pattern(function.blob_pattern)
        self.queue = QueueClient.from_connection_string(
            connection_string, notification_queue_name(function, subscription),
            retry_policy=trigger_retry(),
        )  # fmt: skip
        self._wake = threading.Event()
        self._pool = ThreadPoolExecutor(BATCH_SIZE, thread_name_prefix=f"blob-{function.name}")
        self._running = threading.Semaphore(BATCH_SIZE)

    def prepare(self) -> None:
        for container in (self.container, self.receipts):
            with contextlib.suppress(ResourceExistsError):
                container.create_container()
        with contextlib.suppress(ResourceExistsError):
            self.queue.create_queue()

    def enqueue(self, event: dict[str, Any]) -> None:
        """Keeps one notification for this function; the webhook answers 202 only after this."""
        self.queue.send_message(json.dumps({**event, "functionId": self.function.name}))
        self._wake.set()  # run it now rather than at the next poll

    def stop(self) -> None:
        # Stop first, then wake: woken before `_stop` is set, the loop would poll once more and
        # then sleep a whole `poll_seconds` before it saw the stop.
        self._stop.set()
        self._wake.set()
        super().stop()
        self._pool.shutdown(wait=True)

    def _idle(self) -> None:
        # Wakes for a notification this host's webhook queued; polls anyway, for those another
        # host's webhook queued or that became visible again.
        self._wake.wait(self.poll_seconds)
        self._wake.clear()

    def poll_once(self) -> bool:
        free = 0
        while free < BATCH_SIZE and self._running.acquire(blocking=False):
            free += 1
        if not free:
            self._running.acquire()  # every worker is busy: wait for one
            free = 1
        try:
            received = list(
                self.queue.receive_messages(
                    max_messages=free, visibility_timeout=VISIBILITY_SECONDS
                )
            )
        except BaseException:
            for _ in range(free):
                self._running.release()
            raise
        for message in received:
            self._pool.submit(self._handle_then_release, message)
        for _ in range(free - len(received)):
            self._running.release()
        return bool(received)

    def _handle_then_release(self, message: QueueMessage) -> None:
        try:
            self._handle(message)
        except AzureError:
            # The message becomes visible again and is retried, as the host would.
            logger.exception("function %s: storage failed; retrying later", self.function.name)
        except Exception:
            logger.exception("function %s: could not handle a notification", self.function.name)
        finally:
            self._running.release()

    def _handle(self, message: QueueMessage) -> None:
        outcome = self._notified(message.content)
        if outcome is Outcome.SETTLED:
            # Another host may have received this message again after its visibility ended.
            with contextlib.suppress(ResourceNotFoundError, HttpResponseError):
                self.queue.delete_message(message)
            return
        delay = 0 if outcome is Outcome.RETRY else BUSY_RETRY_SECONDS
        with contextlib.suppress(ResourceNotFoundError, HttpResponseError):
            self.queue.update_message(message, visibility_timeout=delay)

    def _notified(self, content: str) -> Outcome:
        try:
            event = json.loads(content)
            blob = blob_of(event) if isinstance(event, dict) else None
        except (ValueError, EventError):
            logger.warning("function %s: dropped an unreadable notification", self.function.name)
            return Outcome.SETTLED
        wanted = blob and blob.container == self.function.container
        if not wanted or not self.name_pattern.match(blob.blob_name):
            return Outcome.SETTLED
        try:
            # The host runs the blob as it is now: an older event of a replaced blob runs the
            # newest version, whose receipt then stops every other event of it.
            etag = self.container.get_blob_client(blob.blob_name).get_blob_properties().etag
        except ResourceNotFoundError:
            logger.info("function %s: %s is gone; nothing to run", self.function.name, blob)
            return Outcome.SETTLED
        return self._process(blob.blob_name, str(etag))

    def _process(self, blob_name: str, etag: str) -> Outcome:
        """Runs the function on one blob version unless its receipt says it already ran."""
        receipt = self.receipts.get_blob_client(
            f"{self.receipt_prefix}/{etag.strip(chr(34))}/{self.function.container}/{blob_name}"
        )
        with contextlib.suppress(ResourceExistsError):
            receipt.upload_blob(b"", metadata={"status": "pending", "attempts": "0"})
        properties = receipt.get_blob_properties()
        if properties.metadata.get("status") != "pending":
            return Outcome.SETTLED
        try:
            lease = receipt.acquire_lease(lease_duration=LEASE_SECONDS)
        except HttpResponseError:
            return Outcome.BUSY
        # Read again under the lease: another host may have finished it since the first read.
        properties = receipt.get_blob_properties()
        if properties.metadata.get("status") != "pending":
            lease.release()
            return Outcome.SETTLED
        attempts = int(properties.metadata.get("attempts", "0")) + 1
        status = "pending"
        try:
            call_handler(self.function.handler, {self.function.arg_name: self._argument(blob_name)})
            status = "done"
        except Exception:
            logger.exception(
                "function %s failed on %s (attempt %d of %d)",
                self.function.name, blob_name, attempts, self.max_dequeue_count,
            )  # fmt: skip
            if attempts >= self.max_dequeue_count:
                status = "poison"
                self._send_to_poison_queue(blob_name, etag)
        finally:
            receipt.set_blob_metadata({"status": status, "attempts": str(attempts)}, lease=lease)
            lease.release()
        return Outcome.RETRY if status == "pending" else Outcome.SETTLED

    def _argument(self, blob_name: str) -> Any:
        wanted = self.function.parameter_type
        if wanted is func.InputStream:
            client = self.container.get_blob_client(blob_name)
            data = client.download_blob().readall()
            return func.InputStream(
                data=data, name=f"{self.function.container}/{blob_name}", uri=client.url,
                length=len(data),
            )  # fmt: skip
        content = json.dumps(
            {"Connection": self.function.connection, "ContainerName": self.function.container,
             "BlobName": blob_name}
        )  # fmt: skip
        data = ModelBindingData("1.0", "AzureStorageBlobs", "application/json", content)
        converted = BlobClientConverter.decode(
            Datum(value=data, type="model_binding_data"), trigger_metadata=None, pytype=wanted
        )
        if converted is None:
            raise TypeError(
                f"function {self.function.name!r}: parameter {self.function.arg_name!r} must be "
                "func.InputStream or an azurefunctions.extensions.bindings.blob type"
            )
        return converted

    def _send_to_poison_queue(self, blob_name: str, etag: str) -> None:
        queue = QueueClient.from_connection_string(
            self.connection_string, POISON_QUEUE, message_encode_policy=TextBase64EncodePolicy()
        )
        with contextlib.suppress(ResourceExistsError):
            queue.create_queue()
        queue.send_message(
            json.dumps(
                {
                    "Type": "BlobTrigger",
                    "FunctionId": f"Host.Functions.{self.function.name}",
                    "BlobType": "BlockBlob",
                    "ContainerName": self.function.container,
                    "BlobName": blob_name,
                    "ETag": etag,
                }
            )
        )


def _blob_name_pattern(pattern: str) -> re.Pattern[str]:
    parts, position = [], 0
    for match in re.finditer(r"\{[^}]+\}", pattern):
        parts.append(re.escape(pattern[position : match.start()]))
        parts.append(".+?")
        position = match.end()
    parts.append(re.escape(pattern[position:]))
    return re.compile("^" + "".join(parts) + "$")
