"""The notification service: hand pending events to the queue, deliver one message, record the
messages the host gave up on, show and redeliver a run's events.

    sweep(notifier)                  every pending event -> one queue message per endpoint
    deliver(notifier, message)       one attempt; a retry is a new message with its own delay
    record_poisoned(notifier, body)  the delivery kept crashing: a recorded dead letter
    run_events(notifier, run)        each event with its per-endpoint delivery state
    redeliver(notifier, run, id)     send an event again to each of its endpoints
    enable_endpoint(notifier, name)  a webhook endpoint a 410 disabled, enabled again

Delivery is at least once: a crash after the receiver answered and before the answer is recorded
sends that attempt again. Receivers dedupe on the event id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from shared.errors import ConcurrentUpdate, NotFound
from shared.notifications.policy import Answer, DeliveryState, Outcome
from shared.notifications.protocols import (
    Delivery,
    DeliveryMessage,
    DeliveryQueue,
    EventStore,
    Sender,
    StoredEvent,
)
from shared.notifications.settings import EVENT_GRID, NotificationSettings
from shared.redact import redact, redact_text

logger = logging.getLogger(__name__)

SAVE_ATTEMPTS = 5
# A delivery marked as being sent longer ago than this was interrupted (the host died mid-send).
SENDING_MARGIN_SECONDS = 30.0


@dataclass(frozen=True)
class Notifier:
    """Everything the notification service works with (built in `shared.bootstrap`)."""

    events: EventStore
    queue: DeliveryQueue
    webhooks: Sender
    event_grid: Sender | None
    settings: NotificationSettings
    clock: Callable[[], datetime]


def sweep(notifier: Notifier) -> int:
    """Hands every pending event to the delivery queue, one message per endpoint that wants it;
    returns how many events were handed over. Safe to run twice at once: a duplicate message
    finds its attempt already made and is dropped."""
    handed = 0
    for run, sequence in notifier.events.pending():
        event = notifier.events.event(run, sequence)
        if event is not None:
            for endpoint in notifier.settings.targets(event.type):
                notifier.events.start_delivery(Delivery(run, sequence, endpoint))
                notifier.queue.send(DeliveryMessage(run, sequence, endpoint, attempt=1))
        notifier.events.handed_over(run, sequence)
        handed += 1
    return handed


def deliver(notifier: Notifier, message: DeliveryMessage) -> str:
    """Makes attempt `message.attempt` of one delivery, unless it was already made; records the
    outcome and, for a retry, enqueues the next attempt with its delay. Returns what it did.

    Every delivery ends: whatever goes wrong inside an attempt (a receiver's header that cannot
    be read, a name that cannot be encoded, a storage error) is a failed attempt, counted toward
    the policy's `max_attempts`. An exception outside an attempt reaches the host, which retries
    the same message (its dequeue count rising) and then hands it to the poison queue."""
    store, now = notifier.events, notifier.clock()
    delivery = store.delivery(message.run, message.sequence, message.endpoint)
    event = store.event(message.run, message.sequence)
    if delivery is None or event is None:
        return "dropped: no such delivery"
    if delivery.attempts >= message.attempt:
        in_flight = (
            delivery.attempts == message.attempt
            and delivery.sending_since is not None
            and not delivery.state.final
        )
        if not in_flight:
            return "dropped: attempt already made"
        if not message.deferred and not _interrupted(notifier, delivery, message.attempt, now):
            # Another worker is sending this attempt now: look again once it must be done. The
            # message that comes back then takes the attempt over; it is never deferred again,
            # or a worker that crashes every time would keep one delivery open for ever.
            again = replace(message, deferred=True)
            notifier.queue.send(again, delay_seconds=_sending_lease(notifier))
            return "deferred: being sent elsewhere"
    elif delivery.state.final:
        return "dropped: delivery already ended"
    # A conflict here (another worker claimed or recorded it first) reaches the host, which tries
    # this message again after its visibility timeout, counting toward the poison queue.
    claimed = store.save_delivery(
        replace(delivery, attempts=message.attempt, sending_since=now, updated_at=now)
    )
    try:
        outcome = _attempt(notifier, event, message.endpoint, message.attempt, now)
    except Exception as exc:  # whatever failed, this attempt failed: it counts like a 5xx
        logger.exception(
            "Delivery attempt %s of event %s of run %s to %s failed inside Tunedrop",
            message.attempt, message.sequence, message.run, message.endpoint,
        )  # fmt: skip
        # The type only: an exception's text may quote a URL that carries a token.
        failed = Answer(None, f"the attempt failed inside Tunedrop ({type(exc).__name__})")
        outcome = notifier.settings.policy.outcome(message.attempt, failed, now)
    if outcome.state is DeliveryState.RETRYING and outcome.next_attempt_at is not None:
        # Enqueue first: a crash before the save below leaves a claimed attempt whose next
        # message still comes, never a delivery that waits for a message that never comes.
        delay = (outcome.next_attempt_at - now).total_seconds()
        next_message = DeliveryMessage(
            message.run, message.sequence, message.endpoint, message.attempt + 1
        )
        notifier.queue.send(next_message, delay_seconds=delay)
    store.save_delivery(_recorded(claimed, outcome, notifier.clock()))
    if outcome.state is DeliveryState.FAILED:
        logger.warning(
            "Dead letter: event %s of run %s to %s: %s",
            message.sequence, message.run, message.endpoint, outcome.detail,
        )  # fmt: skip
    return f"{outcome.state.value}: {outcome.detail}"


def record_poisoned(notifier: Notifier, body: Any) -> str:
    """The host gave up on a delivery message (the function kept failing): the delivery ends as
    a recorded dead letter, never silently dropped."""
    message = message_from(body)
    if message is None:
        return "ignored: not a delivery message"
    delivery = notifier.events.delivery(message.run, message.sequence, message.endpoint)
    if delivery is None or delivery.state.final:
        return "ignored: no open delivery"
    now = notifier.clock()
    failed = replace(
        delivery,
        state=DeliveryState.FAILED,
        last_error=f"attempt {message.attempt} kept failing inside Tunedrop; see the host log",
        next_attempt_at=None,
        sending_since=None,
        updated_at=now,
    )
    notifier.events.save_delivery(failed)
    logger.error("Dead letter (poison): %s", message)
    return "dead letter recorded"


def run_events(notifier: Notifier, run: str) -> list[dict[str, Any]]:
    """Each event of the run (by sequence) with its delivery to each endpoint."""
    deliveries: dict[int, list[Delivery]] = {}
    for delivery in notifier.events.deliveries(run):
        deliveries.setdefault(delivery.sequence, []).append(delivery)
    return [
        {
            "id": event.id,
            "type": event.type,
            "sequence": event.sequence,
            "time": event.payload.get("time"),
            "payload": redact(event.payload),  # rows stored before events were redacted
            "deliveries": [_delivery_view(item) for item in deliveries.get(event.sequence, [])],
        }
        for event in notifier.events.events(run)
    ]


def redeliver(notifier: Notifier, run: str, event_id: str) -> dict[str, Any]:
    """Sends the event again to every endpoint that wants it now, whatever happened before."""
    event = next((item for item in notifier.events.events(run) if item.id == event_id), None)
    if event is None:
        raise NotFound(f"run {run!r} has no event {event_id!r}.")
    now = notifier.clock()
    for endpoint in notifier.settings.targets(event.type):
        notifier.events.start_delivery(Delivery(run, event.sequence, endpoint))
        attempt = _pending_again(notifier, run, event.sequence, endpoint, now)
        if attempt is not None:
            notifier.queue.send(DeliveryMessage(run, event.sequence, endpoint, attempt))
    view = next(item for item in run_events(notifier, run) if item["id"] == event_id)
    return view


def _pending_again(
    notifier: Notifier, run: str, sequence: int, endpoint: str, now: datetime
) -> int | None:
    """Marks a delivery pending again and returns the attempt its new message carries (None:
    no delivery). The delivery function may save the same row meanwhile: read it again then."""
    for _ in range(SAVE_ATTEMPTS):
        delivery = notifier.events.delivery(run, sequence, endpoint)
        if delivery is None:
            return None
        again = replace(
            delivery,
            state=DeliveryState.PENDING,
            next_attempt_at=now,
            sending_since=None,
            updated_at=now,
        )
        try:
            notifier.events.save_delivery(again)
        except ConcurrentUpdate:
            continue
        return delivery.attempts + 1
    raise ConcurrentUpdate(
        f"the delivery of run {run!r} event {sequence} to {endpoint} kept changing; "
        "try again in a moment."
    )


def enable_endpoint(notifier: Notifier, name: str) -> dict[str, Any]:
    """Enables a webhook endpoint a 410 disabled; recorded with its time. Deliveries that ended
    while it was off stay ended: redeliver the events that matter."""
    hook = notifier.settings.webhook(name)
    if hook is None:
        raise NotFound(f"no webhook endpoint {name!r} is configured in WEBHOOKS.")
    now = notifier.clock()
    was = notifier.events.enable(name, hook.url, now)
    if was is not None:
        logger.warning("Webhook endpoint %s enabled again through the API (was: %s)", name, was)
    return {"endpoint": name, "enabled": True, "was_disabled": was, "enabled_at": now.isoformat()}


def message_from(body: Any) -> DeliveryMessage | None:
    """The delivery message in a queue body, or None for anything else."""
    if not isinstance(body, dict):
        return None
    run, sequence = body.get("run"), body.get("sequence")
    endpoint, attempt = body.get("endpoint"), body.get("attempt")
    if not (isinstance(run, str) and isinstance(endpoint, str)):
        return None
    if not (isinstance(sequence, int) and isinstance(attempt, int)) or attempt < 1:
        return None
    return DeliveryMessage(run, sequence, endpoint, attempt, deferred=body.get("deferred") is True)


def _attempt(
    notifier: Notifier, event: StoredEvent, endpoint: str, attempt: int, now: datetime
) -> Outcome:
    policy = notifier.settings.policy
    if endpoint == EVENT_GRID:
        if notifier.event_grid is None:
            return Outcome(DeliveryState.FAILED, detail="Event Grid is no longer configured")
        return policy.outcome(attempt, notifier.event_grid.send(endpoint, event), now)
    hook = notifier.settings.webhook(endpoint)
    if hook is None:
        return Outcome(DeliveryState.FAILED, detail=f"endpoint {endpoint!r} is not configured")
    if not hook.wants(event.type):
        return Outcome(DeliveryState.FAILED, detail=f"endpoint {endpoint!r} no longer wants it")
    disabled = notifier.events.disabled(endpoint, hook.url)
    if disabled:
        return Outcome(DeliveryState.FAILED, detail=f"endpoint disabled: {disabled}")
    answer: Answer = notifier.webhooks.send(endpoint, event)
    outcome = policy.outcome(attempt, answer, now)
    if outcome.disable_endpoint:
        notifier.events.disable(endpoint, hook.url, f"answered 410 Gone at {now:%Y-%m-%d %H:%M}")
    return outcome


def _recorded(claimed: Delivery, outcome: Outcome, now: datetime) -> Delivery:
    return replace(
        claimed,
        state=outcome.state,
        last_status=outcome.status,
        last_error=None if outcome.state is DeliveryState.DELIVERED else outcome.detail,
        next_attempt_at=outcome.next_attempt_at,
        sending_since=None,
        updated_at=now,
    )


def _interrupted(notifier: Notifier, delivery: Delivery, attempt: int, now: datetime) -> bool:
    """True when this attempt was claimed by a worker that died while sending it."""
    if delivery.attempts != attempt or delivery.sending_since is None or delivery.state.final:
        return False
    return now - delivery.sending_since > timedelta(seconds=_sending_lease(notifier))


def _sending_lease(notifier: Notifier) -> float:
    return notifier.settings.policy.timeout_seconds * 2 + SENDING_MARGIN_SECONDS


def _delivery_view(delivery: Delivery) -> dict[str, Any]:
    return {
        "endpoint": delivery.endpoint,
        "state": delivery.state.value,
        "attempts": delivery.attempts,
        "last_status": delivery.last_status,
        "last_error": redact_text(delivery.last_error) if delivery.last_error else None,
        "next_attempt_at": _iso(delivery.next_attempt_at),
        "updated_at": _iso(delivery.updated_at),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
