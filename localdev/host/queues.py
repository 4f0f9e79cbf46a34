"""Fires queue-triggered functions for each message, with the host's retry and poison rules:
a message whose function fails is retried until its dequeue count reaches `maxDequeueCount`
(host.json), then moved to `<queue>-poison`. Messages are base64, the host's default encoding."""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging

from azure.core.exceptions import ResourceExistsError
from azure.functions.queue import QueueMessage as FunctionQueueMessage
from azure.storage.queue import LinearRetry, QueueClient, QueueMessage, TextBase64EncodePolicy

from localdev.host.background import PollingLoop
from localdev.host.discovery import QueueFunction
from localdev.host.invoke import call_handler

logger = logging.getLogger(__name__)

VISIBILITY_SECONDS = 60


def trigger_retry() -> LinearRetry:
    """The SDK retries for a trigger loop's own queue: a few half-second ones. The loop polls
    again anyway; the SDK's default waits 15 s, then 18 s, 24 s inside one call once storage has
    been away, during which the loop can neither stop nor see that storage is back (a host that
    met an outage took over 10 s to stop, and was then killed)."""
    return LinearRetry(backoff=0.5, retry_total=3, random_jitter_range=0.2)  # type: ignore[arg-type]


class QueueTriggerRunner(PollingLoop):
    """Receives one function's messages and calls it for each."""

    def __init__(
        self,
        function: QueueFunction,
        connection_string: str,
        *,
        max_dequeue_count: int = 5,
        poll_seconds: float = 1.0,
        retry_visibility_seconds: float = 0.0,
    ) -> None:
        super().__init__(f"queue-{function.name}", poll_seconds)
        self.function = function
        self.max_dequeue_count = max_dequeue_count
        self.retry_visibility_seconds = retry_visibility_seconds
        self.queue = QueueClient.from_connection_string(
            connection_string, function.queue, retry_policy=trigger_retry()
        )
        self.poison = QueueClient.from_connection_string(
            connection_string,
            f"{function.queue}-poison",
            message_encode_policy=TextBase64EncodePolicy(),
        )

    def prepare(self) -> None:
        with contextlib.suppress(ResourceExistsError):
            self.queue.create_queue()

    def poll_once(self) -> bool:
        received = list(
            self.queue.receive_messages(max_messages=16, visibility_timeout=VISIBILITY_SECONDS)
        )
        for message in received:
            if self._stop.is_set():
                break
            self._process(message)
        return bool(received)

    def _process(self, message: QueueMessage) -> None:
        argument = FunctionQueueMessage(
            id=message.id,
            body=_decoded(message.content),
            dequeue_count=message.dequeue_count,
            expiration_time=message.expires_on,
            insertion_time=message.inserted_on,
            pop_receipt=message.pop_receipt,
        )
        try:
            call_handler(self.function.handler, {self.function.arg_name: argument})
        except Exception:
            logger.exception(
                "function %s failed on message %s (attempt %s of %s)",
                self.function.name, message.id, message.dequeue_count, self.max_dequeue_count,
            )  # fmt: skip
            if (message.dequeue_count or 0) >= self.max_dequeue_count:
                with contextlib.suppress(ResourceExistsError):
                    self.poison.create_queue()
                self.poison.send_message(_decoded(message.content).decode("utf-8", "replace"))
                self.queue.delete_message(message)
            else:
                # host.json `visibilityTimeout`: how long before the failed message is tried again.
                delay = int(self.retry_visibility_seconds)
                self.queue.update_message(message, visibility_timeout=delay)
            return
        self.queue.delete_message(message)


def _decoded(content: str | bytes) -> bytes:
    raw = content.encode() if isinstance(content, str) else content
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return raw
