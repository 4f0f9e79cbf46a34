"""`StorageDeliveryQueue`: delivery messages on an Azure Storage queue, base64 JSON as the
Functions host expects; a delay is the message's own visibility timeout."""

from __future__ import annotations

import contextlib
import json

from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import QueueClient

from shared.adapters.azure_errors import azure_errors
from shared.notifications.policy import MAX_QUEUE_DELAY_SECONDS
from shared.notifications.protocols import DeliveryMessage


class StorageDeliveryQueue:
    def __init__(self, queue: QueueClient) -> None:
        self._queue = queue
        self._ready = False

    def send(self, message: DeliveryMessage, delay_seconds: float = 0) -> None:
        delay = int(min(max(delay_seconds, 0), MAX_QUEUE_DELAY_SECONDS))
        with azure_errors(f"queueing a delivery of run {message.run!r}"):
            if not self._ready:
                with contextlib.suppress(ResourceExistsError):
                    self._queue.create_queue()
                self._ready = True
            self._queue.send_message(json.dumps(message.to_dict()), visibility_timeout=delay)
