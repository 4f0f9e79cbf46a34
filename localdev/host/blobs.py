"""Fires blob-triggered functions once per new or changed blob, like the Functions host.

Receipts live in storage as the real host keeps them (`azure-webjobs-hosts/blobreceipts/...`),
keyed by function, ETag and blob name, so a restart does not fire a blob again. A receipt is
leased while its blob is processed so that two hosts on one storage account do not both run it.
A blob whose function keeps failing is retried up to `maxDequeueCount` times (host.json), then a
message goes to the `webjobs-blobtrigger-poison` queue and the blob is left alone.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

import azure.functions as func
from azure.core.exceptions import HttpResponseError, ResourceExistsError
from azure.storage.blob import BlobServiceClient, ContainerClient
from azure.storage.queue import QueueClient, TextBase64EncodePolicy
from azurefunctions.extensions.base import Datum
from azurefunctions.extensions.bindings.blob import BlobClientConverter

from localdev.host.background import PollingLoop
from localdev.host.discovery import BlobFunction
from localdev.host.invoke import call_handler

logger = logging.getLogger(__name__)

RECEIPTS_CONTAINER = "azure-webjobs-hosts"
POISON_QUEUE = "webjobs-blobtrigger-poison"
LEASE_SECONDS = 60


@dataclass(frozen=True)
class ModelBindingData:
    """What the Python worker hands SDK-type binding converters for a blob."""

    version: str
    source: str
    content_type: str
    content: str


class BlobTriggerRunner(PollingLoop):
    """Scans one function's container and calls it for each blob version it has not seen."""

    def __init__(
        self,
        function: BlobFunction,
        connection_string: str,
        *,
        max_dequeue_count: int = 5,
        poll_seconds: float = 1.0,
        host_id: str = "localdev",
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
        self._finished: set[tuple[str, str]] = set()

    def prepare(self) -> None:
        for container in (self.container, self.receipts):
            with contextlib.suppress(ResourceExistsError):
                container.create_container()

    def poll_once(self) -> bool:
        """Runs the function for every blob version that has no finished receipt yet."""
        for blob in self.container.list_blobs():
            if self._stop.is_set():
                break
            version = (blob.name, str(blob.etag))
            due = version not in self._finished and self.name_pattern.match(blob.name)
            if due and self._process(*version):
                self._finished.add(version)
        return False

    def _process(self, blob_name: str, etag: str) -> bool:
        """Runs the function on one blob version if due; True once that version is settled."""
        receipt = self.receipts.get_blob_client(
            f"{self.receipt_prefix}/{etag.strip(chr(34))}/{self.function.container}/{blob_name}"
        )
        with contextlib.suppress(ResourceExistsError):
            receipt.upload_blob(b"", metadata={"status": "pending", "attempts": "0"})
        properties = receipt.get_blob_properties()
        if properties.metadata.get("status") != "pending":
            return True
        try:
            lease = receipt.acquire_lease(lease_duration=LEASE_SECONDS)
        except HttpResponseError:
            return False  # another host is processing this blob version
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
        return status != "pending"

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
