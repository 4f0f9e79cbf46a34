"""Sweeping, delivering, retrying, dead letters and redelivery, on fakes (service layer)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook

from shared.adapters.event_senders import signed_headers
from shared.notifications import service
from shared.notifications.policy import Answer, DeliveryPolicy
from shared.notifications.protocols import DeliveryMessage, StoredEvent
from shared.notifications.service import Notifier
from shared.notifications.settings import NotificationSettings, WebhookEndpoint
from tests.notifications.fakes import FakeDeliveryQueue, FakeEventStore, FakeSender

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OLD_SECRET = "whsec_b2xkIHNlY3JldCBvbGQgc2VjcmV0IG9sZCBzZWNyZXQ="
QUEUED = "tunedrop.run.queued"


def notifier(*answers: Answer, events: tuple[str, ...] = (QUEUED,)) -> Notifier:
    settings = NotificationSettings(
        webhooks=(WebhookEndpoint("shop", "https://shop.example.com/hook", frozenset(events)),),
        secret=SECRET,
        policy=DeliveryPolicy(base_seconds=60, max_seconds=3600, max_attempts=4),
    )
    store = FakeEventStore()
    store.add(event(1))
    return Notifier(
        events=store, queue=FakeDeliveryQueue(), webhooks=FakeSender(*answers),
        event_grid=None, settings=settings, clock=lambda: NOW,
    )  # fmt: skip


def event(sequence: int) -> StoredEvent:
    payload = {"id": f"evt_{sequence:032x}", "type": QUEUED, "time": NOW.isoformat(), "data": {}}
    return StoredEvent("kitsune", sequence, payload["id"], QUEUED, payload)


def deliver_all(n: Notifier) -> list[str]:
    """Delivers every queued message, as the host would, until the queue is empty."""
    said = []
    while messages := n.queue.take():  # type: ignore[attr-defined]
        said += [service.deliver(n, message) for message, _ in messages]
    return said


def test_a_swept_event_is_queued_once_per_endpoint_that_wants_it_and_leaves_the_outbox() -> None:
    n = notifier()
    assert service.sweep(n) == 1
    assert n.queue.messages == [(DeliveryMessage("kitsune", 1, "shop", 1), 0)]  # type: ignore[attr-defined]
    assert service.sweep(n) == 0


def test_an_event_no_endpoint_wants_is_recorded_but_not_queued() -> None:
    n = notifier(events=("tunedrop.run.deployed",))
    service.sweep(n)
    assert n.queue.messages == []  # type: ignore[attr-defined]
    assert service.run_events(n, "kitsune")[0]["deliveries"] == []


def test_a_receiver_failing_three_times_gets_the_event_on_the_fourth_attempt() -> None:
    n = notifier(Answer(500), Answer(500), Answer(503, retry_after=600), Answer(200))
    service.sweep(n)
    delays = []
    for _ in range(4):
        for message, delay in n.queue.take():  # type: ignore[attr-defined]
            delays.append(delay)
            service.deliver(n, message)
    assert delays == [0, 60, 120, 600]
    [view] = service.run_events(n, "kitsune")[0]["deliveries"]
    assert view["state"] == "delivered" and view["attempts"] == 4 and view["last_status"] == 200


def test_a_receiver_that_always_fails_ends_as_a_dead_letter() -> None:
    n = notifier(Answer(500, "Internal Server Error"))
    service.sweep(n)
    deliver_all(n)
    [view] = service.run_events(n, "kitsune")[0]["deliveries"]
    assert view["state"] == "failed" and view["attempts"] == 4
    assert view["last_error"] == "gave up after 4 attempts; HTTP 500: Internal Server Error"


def test_a_410_disables_the_endpoint_for_later_events() -> None:
    n = notifier(Answer(410, "Gone"))
    n.events.add(event(2))  # type: ignore[attr-defined]
    service.sweep(n)
    deliver_all(n)
    assert n.webhooks.sent == [("shop", event(1).id)]  # type: ignore[attr-defined]
    states = [e["deliveries"][0]["state"] for e in service.run_events(n, "kitsune")]
    assert states == ["failed", "failed"]


def test_a_duplicate_message_for_an_attempt_already_made_sends_nothing() -> None:
    n = notifier()
    service.sweep(n)
    [(message, _)] = n.queue.take()  # type: ignore[attr-defined]
    service.deliver(n, message)
    assert service.deliver(n, message) == "dropped: attempt already made"
    assert len(n.webhooks.sent) == 1  # type: ignore[attr-defined]


def test_an_attempt_interrupted_mid_send_is_made_again_once_its_lease_ends() -> None:
    n = notifier()
    service.sweep(n)
    [(message, _)] = n.queue.take()  # type: ignore[attr-defined]
    delivery = n.events.delivery("kitsune", 1, "shop")
    assert delivery is not None
    n.events.save_delivery(  # a worker claimed the attempt, then died
        type(delivery)(**{**delivery.__dict__, "attempts": 1, "sending_since": NOW})
    )
    assert service.deliver(n, message) == "deferred: being sent elsewhere"
    later = Notifier(**{**n.__dict__, "clock": lambda: NOW + timedelta(minutes=5)})
    assert service.deliver(later, message).startswith("delivered")


def test_a_poisoned_message_records_a_dead_letter() -> None:
    n = notifier()
    service.sweep(n)
    [(message, _)] = n.queue.take()  # type: ignore[attr-defined]
    assert service.record_poisoned(n, message.to_dict()) == "dead letter recorded"
    [view] = service.run_events(n, "kitsune")[0]["deliveries"]
    assert view["state"] == "failed" and "kept failing" in view["last_error"]
    assert service.record_poisoned(n, {"nonsense": True}) == "ignored: not a delivery message"


def test_redelivery_sends_a_delivered_event_again() -> None:
    n = notifier()
    service.sweep(n)
    deliver_all(n)
    view = service.redeliver(n, "kitsune", event(1).id)
    assert view["deliveries"][0]["state"] == "pending"
    deliver_all(n)
    assert len(n.webhooks.sent) == 2  # type: ignore[attr-defined]
    with pytest.raises(Exception, match="has no event"):
        service.redeliver(n, "kitsune", "evt_" + "f" * 32)


def test_redelivery_reads_the_delivery_again_when_the_delivery_function_saved_it_meanwhile():
    n = notifier()
    service.sweep(n)
    deliver_all(n)
    store = n.events
    read = store.delivery  # type: ignore[attr-defined]
    raced = []

    def delivery_saved_by_another_writer_after_the_first_read(*key):
        found = read(*key)
        if not raced:
            raced.append(found)
            store.save_delivery(found)  # type: ignore[attr-defined]  (a new version)
        return found

    store.delivery = delivery_saved_by_another_writer_after_the_first_read  # type: ignore[method-assign]
    view = service.redeliver(n, "kitsune", event(1).id)
    assert raced and view["deliveries"][0]["state"] == "pending"
    deliver_all(n)
    assert len(n.webhooks.sent) == 2  # type: ignore[attr-defined]


@pytest.mark.parametrize("secret", [SECRET, OLD_SECRET])
def test_during_a_rotation_receivers_holding_either_secret_verify_the_signature(
    secret: str,
) -> None:
    body = b'{"id":"evt_1","type":"tunedrop.run.queued"}'
    signers = [Webhook(SECRET), Webhook(OLD_SECRET)]
    headers = signed_headers(signers, "evt_1", body, datetime.now(UTC))
    assert Webhook(secret).verify(body, headers)["id"] == "evt_1"
    assert len(headers["webhook-signature"].split(" ")) == 2
