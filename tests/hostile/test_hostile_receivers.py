"""Every delivery ends, whatever the receiver answers: delivered, or a dead letter after
`WEBHOOK_MAX_ATTEMPTS`. The deliveries run under a simulation of the Functions host's queue (a
message whose function raises comes back after the visibility timeout with its dequeue count up
by one, and goes to the poison queue after `maxDequeueCount`), with a receiver on loopback that
answers badly, senders and stores that raise, and a worker that died mid-send."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import Any

import pytest

from shared.adapters.event_senders import WebhookSender
from shared.errors import ConcurrentUpdate, TransientServiceError
from shared.notifications import service
from shared.notifications.policy import Answer, DeliveryPolicy, DeliveryState, parse_retry_after
from shared.notifications.protocols import Delivery, DeliveryMessage, StoredEvent
from shared.notifications.service import Notifier
from shared.notifications.settings import NotificationSettings, WebhookEndpoint
from tests.notifications.fakes import FakeEventStore, FakeSender

START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
QUEUED = "tunedrop.run.queued"
MAX_ATTEMPTS = 4
# host.json "queues": what the host does with a message whose function raised.
VISIBILITY_TIMEOUT = 30.0
MAX_DEQUEUE_COUNT = 5


@dataclass(order=True)
class _Queued:
    visible_at: datetime
    order: int
    message: DeliveryMessage = field(compare=False)
    dequeue_count: int = field(default=0, compare=False)


class SimulatedHost:
    """The delivery queue and its two queue-triggered functions, as the Functions host runs them:
    messages become visible after their delay; one whose function raises is visible again after
    `VISIBILITY_TIMEOUT` with its dequeue count up by one, and after `MAX_DEQUEUE_COUNT` dequeues
    it moves to the poison queue, whose function (`record_poisoned`) runs once."""

    def __init__(self) -> None:
        self.now = START
        self.heap: list[_Queued] = []
        self.order = itertools.count()
        self.said: list[str] = []

    def send(self, message: DeliveryMessage, delay_seconds: float = 0) -> None:
        visible = self.now + timedelta(seconds=delay_seconds)
        heapq.heappush(self.heap, _Queued(visible, next(self.order), message))

    def clock(self) -> datetime:
        return self.now

    def run(self, notifier: Notifier, days: float = 7) -> None:
        end = START + timedelta(days=days)
        while self.heap and self.heap[0].visible_at <= end:
            item = heapq.heappop(self.heap)
            self.now = max(self.now, item.visible_at)
            item.dequeue_count += 1
            try:
                self.said.append(service.deliver(notifier, item.message))
            except Exception as exc:  # the host logs it and makes the message visible again
                self.said.append(f"raised {type(exc).__name__}")
                if item.dequeue_count >= MAX_DEQUEUE_COUNT:
                    self.poisoned(notifier, item.message)
                    continue
                item.visible_at = self.now + timedelta(seconds=VISIBILITY_TIMEOUT)
                heapq.heappush(self.heap, item)

    def poisoned(self, notifier: Notifier, message: DeliveryMessage) -> None:
        try:
            self.said.append(service.record_poisoned(notifier, message.to_dict()))
        except Exception as exc:  # the poison message stays in the poison queue
            self.said.append(f"poison raised {type(exc).__name__}")


def hook_notifier(
    host: SimulatedHost, url: str, webhooks: Any = None, store: FakeEventStore | None = None
) -> Notifier:
    settings = NotificationSettings(
        webhooks=(WebhookEndpoint("shop", url, frozenset({QUEUED})),),
        secret=SECRET,
        policy=DeliveryPolicy(
            timeout_seconds=2, base_seconds=60, max_seconds=3600, max_attempts=MAX_ATTEMPTS
        ),
        allow_private_urls=True,
    )
    store = store or FakeEventStore()
    payload = {"id": "evt_" + "a" * 32, "type": QUEUED, "time": START.isoformat(), "data": {}}
    store.add(StoredEvent("kitsune", 1, payload["id"], QUEUED, payload))
    return Notifier(
        events=store, queue=host, webhooks=webhooks or WebhookSender(settings),
        event_grid=None, settings=settings, clock=host.clock,
    )  # fmt: skip


@contextmanager
def receiver(status: int, headers: dict[str, bytes]) -> Iterator[tuple[str, list[int]]]:
    """A receiver on loopback answering every POST with `status` and raw header bytes."""
    posts: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            posts.append(status)
            self.wfile.write(f"HTTP/1.1 {status} Hostile\r\n".encode())
            for name, value in {**headers, "Content-Length": b"0"}.items():
                self.wfile.write(name.encode() + b": " + value + b"\r\n")
            self.wfile.write(b"\r\n")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", posts
    finally:
        server.shutdown()
        server.server_close()


def ended(notifier: Notifier) -> Delivery:
    delivery = notifier.events.delivery("kitsune", 1, "shop")
    assert delivery is not None
    assert delivery.state.final, f"the delivery never ended: {delivery}"
    return delivery


@pytest.mark.parametrize(
    "retry_after",
    [b"\xb2", b"\xd9\xa1\xd9\xa2", b"1e9", b"-5", b"99999999999999999999999", b"Tue, 99 Foo"],
)
def test_every_delivery_ends_whatever_retry_after_the_receiver_answers(retry_after: bytes) -> None:
    host = SimulatedHost()
    with receiver(503, {"Retry-After": retry_after}) as (url, posts):
        notifier = hook_notifier(host, url)
        service.sweep(notifier)
        host.run(notifier)
    delivery = ended(notifier)
    assert delivery.state is DeliveryState.FAILED and delivery.attempts == MAX_ATTEMPTS
    assert len(posts) == MAX_ATTEMPTS
    assert delivery.last_error and delivery.last_error.startswith("gave up after 4 attempts")


class RaisingSender:
    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls = 0

    def send(self, endpoint: str, event: StoredEvent) -> Answer:
        self.calls += 1
        raise self.error


@pytest.mark.parametrize(
    "error",
    [
        ValueError("could not convert string to float: '²'"),
        UnicodeError("encoding with 'idna' codec failed (label too long)"),
        ConcurrentUpdate("the delivery changed since it was read"),
        TransientServiceError("storage is down"),
    ],
)
def test_an_exception_anywhere_in_an_attempt_is_a_failed_attempt(error: Exception) -> None:
    host = SimulatedHost()
    sender = RaisingSender(error)
    notifier = hook_notifier(host, "https://shop.example.com/hook", webhooks=sender)
    service.sweep(notifier)
    host.run(notifier)
    delivery = ended(notifier)
    assert delivery.state is DeliveryState.FAILED
    assert delivery.attempts == MAX_ATTEMPTS and sender.calls == MAX_ATTEMPTS
    assert f"gave up after {MAX_ATTEMPTS} attempts" in (delivery.last_error or "")
    assert type(error).__name__ in (delivery.last_error or "")


class DisabledRaises(FakeEventStore):
    def disabled(self, endpoint: str, url: str) -> str | None:
        raise TransientServiceError("reading endpoint 'shop': storage is down")


def test_a_store_that_fails_while_checking_the_endpoint_still_ends_the_delivery() -> None:
    host = SimulatedHost()
    notifier = hook_notifier(
        host, "https://shop.example.com/hook", webhooks=FakeSender(), store=DisabledRaises()
    )
    service.sweep(notifier)
    host.run(notifier)
    assert ended(notifier).state is DeliveryState.FAILED


class SaveConflictsOnce(FakeEventStore):
    """A concurrent writer changes each recorded outcome's row once just before it is saved."""

    def __init__(self) -> None:
        super().__init__()
        self.conflicted: set[int] = set()

    def save_delivery(self, delivery: Delivery) -> Delivery:
        outcome = delivery.sending_since is None and delivery.attempts > 0
        if outcome and delivery.attempts not in self.conflicted:
            self.conflicted.add(delivery.attempts)
            raise ConcurrentUpdate("the delivery changed since it was read")
        return super().save_delivery(delivery)


def test_a_conflict_on_saving_the_outcome_still_ends_the_delivery() -> None:
    host = SimulatedHost()
    notifier = hook_notifier(
        host, "https://shop.example.com/hook", webhooks=FakeSender(Answer(500)),
        store=SaveConflictsOnce(),
    )  # fmt: skip
    service.sweep(notifier)
    host.run(notifier)
    assert ended(notifier).state is DeliveryState.FAILED


def test_a_deferred_message_takes_the_attempt_over_and_is_never_deferred_again() -> None:
    host = SimulatedHost()
    sender = FakeSender(Answer(200))
    notifier = hook_notifier(host, "https://shop.example.com/hook", webhooks=sender)
    service.sweep(notifier)
    first = heapq.heappop(host.heap).message
    delivery = notifier.events.delivery("kitsune", 1, "shop")
    assert delivery is not None
    # A worker claimed attempt 1, then died; its claim keeps being refreshed by a clock that
    # runs ahead of ours (so the lease never looks over by our clock).
    notifier.events.save_delivery(
        replace(delivery, attempts=1, sending_since=START + timedelta(hours=1))
    )
    assert service.deliver(notifier, first) == "deferred: being sent elsewhere"
    host.run(notifier)
    assert [said for said in host.said if said.startswith("deferred")] == []
    assert ended(notifier).state is DeliveryState.DELIVERED
    assert len(sender.sent) == 1


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("Tue, 01 Dec 2026 12:05:00 GMT", 300.0),
        ("²", None),
        ("١٢٠", None),  # Arabic-Indic digits: str.isdigit() says yes, HTTP says no
        ("1e3", None),
        ("12.5", None),
        ("-5", None),
        ("soon", None),
        ("Tue, 01 Dec 2026 12:05:00", None),  # a date without a zone is not an HTTP date
    ],
)
def test_retry_after_is_ascii_digits_or_an_http_date_and_anything_else_is_ignored(
    header: str, seconds: float | None
) -> None:
    assert parse_retry_after(header, START) == seconds


def test_the_simulated_host_moves_a_message_that_keeps_raising_to_the_poison_queue() -> None:
    # The simulation itself: a message whose function always raises is tried MAX_DEQUEUE_COUNT
    # times, then handed to the poison function once.
    host = SimulatedHost()

    class Boom(FakeEventStore):
        def delivery(self, run: str, sequence: int, endpoint: str) -> Delivery | None:
            raise TransientServiceError("down")

    notifier = hook_notifier(host, "https://shop.example.com/hook", store=Boom())
    host.send(DeliveryMessage("kitsune", 1, "shop", 1))
    host.run(notifier)
    assert host.said == ["raised TransientServiceError"] * MAX_DEQUEUE_COUNT + [
        "poison raised TransientServiceError"
    ]
