"""In-memory doubles of the notification roles, with the same conditional-save rules."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import datetime

from shared.errors import ConcurrentUpdate
from shared.notifications.policy import Answer
from shared.notifications.protocols import Delivery, DeliveryMessage, StoredEvent


class FakeEventStore:
    def __init__(self) -> None:
        self.stored: dict[tuple[str, int], StoredEvent] = {}
        self.outbox: set[tuple[str, int]] = set()
        self.rows: dict[tuple[str, int, str], Delivery] = {}
        self.off: dict[tuple[str, str], str] = {}
        self.versions = itertools.count(1)

    def add(self, event: StoredEvent) -> None:
        self.stored[(event.run, event.sequence)] = event
        self.outbox.add((event.run, event.sequence))

    def pending(self) -> list[tuple[str, int]]:
        return sorted(self.outbox)

    def event(self, run: str, sequence: int) -> StoredEvent | None:
        return self.stored.get((run, sequence))

    def events(self, run: str) -> list[StoredEvent]:
        return sorted((e for e in self.stored.values() if e.run == run), key=lambda e: e.sequence)

    def handed_over(self, run: str, sequence: int) -> None:
        self.outbox.discard((run, sequence))

    def delivery(self, run: str, sequence: int, endpoint: str) -> Delivery | None:
        return self.rows.get((run, sequence, endpoint))

    def deliveries(self, run: str) -> list[Delivery]:
        return [row for key, row in sorted(self.rows.items()) if key[0] == run]

    def start_delivery(self, delivery: Delivery) -> None:
        key = (delivery.run, delivery.sequence, delivery.endpoint)
        if key not in self.rows:
            self.rows[key] = replace(delivery, version=str(next(self.versions)))

    def save_delivery(self, delivery: Delivery) -> Delivery:
        key = (delivery.run, delivery.sequence, delivery.endpoint)
        current = self.rows.get(key)
        if delivery.version and current is not None and current.version != delivery.version:
            raise ConcurrentUpdate("the delivery changed since it was read")
        saved = replace(delivery, version=str(next(self.versions)))
        self.rows[key] = saved
        return saved

    def disabled(self, endpoint: str, url: str) -> str | None:
        return self.off.get((endpoint, url))

    def disable(self, endpoint: str, url: str, reason: str) -> None:
        self.off[(endpoint, url)] = reason

    def enable(self, endpoint: str, url: str, at: datetime) -> str | None:
        return self.off.pop((endpoint, url), None)


class FakeDeliveryQueue:
    def __init__(self) -> None:
        self.messages: list[tuple[DeliveryMessage, float]] = []

    def send(self, message: DeliveryMessage, delay_seconds: float = 0) -> None:
        self.messages.append((message, delay_seconds))

    def take(self) -> list[tuple[DeliveryMessage, float]]:
        taken, self.messages = self.messages, []
        return taken


class FakeSender:
    """Answers from a script (the last answer repeats), recording what it was asked to send."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers) or [Answer(200)]
        self.sent: list[tuple[str, str]] = []

    def send(self, endpoint: str, event: StoredEvent) -> Answer:
        self.sent.append((endpoint, event.id))
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
