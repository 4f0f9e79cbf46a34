"""The roles the notification service needs from the outside world.

Real implementations: `TableEventStore` (`shared.adapters.event_table`), `StorageDeliveryQueue`
(`shared.adapters.delivery_queue`), `WebhookSender` and `EventGridSender`
(`shared.adapters.event_senders`); tests use `Fake*` doubles.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from shared.notifications.policy import Answer, DeliveryState


@dataclass(frozen=True)
class StoredEvent:
    run: str
    sequence: int
    id: str
    type: str
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class Delivery:
    """One event's delivery to one endpoint, as recorded; `version` guards conditional saves."""

    run: str
    sequence: int
    endpoint: str
    state: DeliveryState = DeliveryState.PENDING
    attempts: int = 0
    last_status: int | None = None
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    sending_since: datetime | None = None
    updated_at: datetime | None = None
    version: str | None = None


@dataclass(frozen=True)
class DeliveryMessage:
    """What the delivery queue carries: try attempt `attempt` of one event to one endpoint."""

    run: str
    sequence: int
    endpoint: str
    attempt: int
    deferred: bool = False
    """Sent again after waiting one sending lease for another worker: such a message takes the
    attempt over (or finds it ended); it is never deferred a second time."""

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "run": self.run,
            "sequence": self.sequence,
            "endpoint": self.endpoint,
            "attempt": self.attempt,
        }
        if self.deferred:
            body["deferred"] = True
        return body


class EventStore(Protocol):
    """Events (written with their run), what is pending, deliveries and disabled endpoints."""

    def pending(self) -> list[tuple[str, int]]:
        """(run, sequence) of every event not yet handed to the queue, oldest first per run."""
        ...

    def event(self, run: str, sequence: int) -> StoredEvent | None: ...

    def events(self, run: str) -> list[StoredEvent]:
        """Every event of the run, by sequence."""
        ...

    def handed_over(self, run: str, sequence: int) -> None:
        """The event is in the queue: it is no longer pending."""
        ...

    def delivery(self, run: str, sequence: int, endpoint: str) -> Delivery | None: ...

    def deliveries(self, run: str) -> list[Delivery]: ...

    def start_delivery(self, delivery: Delivery) -> None:
        """Records a new delivery unless one exists for that event and endpoint."""
        ...

    def save_delivery(self, delivery: Delivery) -> Delivery:
        """Saves if unchanged since read (`version`), returning it with its new version;
        raises `ConcurrentUpdate` otherwise."""
        ...

    def disabled(self, endpoint: str, url: str) -> str | None:
        """Why this endpoint (at this URL) is disabled, or None."""
        ...

    def disable(self, endpoint: str, url: str, reason: str) -> None: ...

    def enable(self, endpoint: str, url: str, at: datetime) -> str | None:
        """Enables a disabled endpoint again, recording when; returns why it was disabled
        (None: it was not, and nothing changes)."""
        ...


class DeliveryQueue(Protocol):
    def send(self, message: DeliveryMessage, delay_seconds: float = 0) -> None:
        """Enqueues `message`, invisible for `delay_seconds`."""
        ...


class Sender(Protocol):
    """Sends one event to one kind of receiver and says what it answered (never raises for an
    answer or a network failure: those are the `Answer`)."""

    def send(self, endpoint: str, event: StoredEvent) -> Answer: ...
