"""`StorageRunQueue`: RUNS_QUEUE, where a tick that fans out puts its due runs, as base64 JSON
messages the Functions host's queue trigger reads."""

from __future__ import annotations

import contextlib

from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import QueueClient

from shared.adapters.azure_errors import azure_errors

# A message a later tick has overtaken costs its consumer one read per run; past ten minutes
# (twenty ticks at the default schedule) its runs are in newer messages, so it expires unread.
MESSAGE_SECONDS = 600


class StorageRunQueue:
    def __init__(self, queue: QueueClient) -> None:
        self._queue = queue
        self._ready = False

    def send(self, message: str) -> None:
        with azure_errors("putting due runs on the runs queue"):
            if not self._ready:
                with contextlib.suppress(ResourceExistsError):
                    self._queue.create_queue()
                self._ready = True
            self._queue.send_message(message, time_to_live=MESSAGE_SECONDS)
