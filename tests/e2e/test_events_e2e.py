"""Run events end to end: the host, Azurite and the emulator as in production, and a receiver
on loopback that verifies every signature through the `standardwebhooks` package.

Backoff settings are made short here (seconds, not hours); the mechanisms are the same."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.e2e.fault_helpers import drop_sample, unique, wait_for_state, wait_until
from tests.e2e.pipeline_helpers import states_of
from tests.e2e.stack import HostProcess, Stack
from tests.e2e.webhook_receiver import Receiver, running_receiver

pytestmark = pytest.mark.e2e

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
NEW_SECRET = "whsec_bmV3IHNlY3JldCBuZXcgc2VjcmV0IG5ldyBzZWNyZXQ="
NEVER = "0 0 0 1 1 *"  # once a year: the sweeper does not run during the test


def webhook_settings(receiver: Receiver, events: str = "*", **overrides: str) -> dict[str, str]:
    hooks = [{"name": "receiver", "url": receiver.url, "events": events}]
    return {
        "WEBHOOKS": json.dumps(hooks),
        "WEBHOOK_SECRET": SECRET,
        "WEBHOOK_ALLOW_PRIVATE_URLS": "true",
        "WEBHOOK_RETRY_BASE_SECONDS": "1",
        "WEBHOOK_RETRY_MAX_SECONDS": "2",
        "WEBHOOK_TIMEOUT_SECONDS": "5",
        **overrides,
    }


def drop_invalid_run(stack: Stack, run: str) -> None:
    """A run that fails at once: a training file that is not JSONL."""
    stack.inbox.upload_blob(f"{run}/train.jsonl", b"this is not json\n")


def run_events(stack: Stack, run: str) -> list[dict[str, Any]]:
    status, body, _ = stack.call("GET", f"/api/runs/{run}/events")
    assert status == 200, body
    return body["events"]


def deliveries_settled(stack: Stack, run: str, count: int) -> list[dict[str, Any]] | None:
    """The run's events once it has `count` and each delivery has ended; else None."""
    events = run_events(stack, run)
    if len(events) < count:
        return None
    ended = all(
        delivery["state"] in ("delivered", "failed")
        for event in events
        for delivery in event["deliveries"]
    )
    return events if ended and all(event["deliveries"] for event in events) else None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver({"old": SECRET, "new": NEW_SECRET}) as running:
        yield running


def test_a_run_followed_to_deployed_delivers_each_states_event_once_in_order_to_both_sinks(
    make_stack: Callable[..., Stack], receiver: Receiver
) -> None:
    stack = make_stack(**webhook_settings(receiver))
    run = unique("events")
    drop_sample(stack, run)
    # Every state the run went through (with fast emulator timings, a job may skip `running`).
    states = states_of(wait_for_state(stack, run, "deployed", timeout=90))
    assert states[0] == "waiting_for_files" and states[-1] == "deployed"

    events = wait_until(lambda: deliveries_settled(stack, run, len(states)), 60, "every delivery")
    assert [e["type"] for e in events] == [f"tunedrop.run.{state}" for state in states]
    assert [e["sequence"] for e in events] == list(range(1, len(events) + 1))
    for event in events:
        assert sorted(d["endpoint"] for d in event["deliveries"]) == ["eventgrid", "receiver"]
        assert {d["state"] for d in event["deliveries"]} == {"delivered"}, event

    accepted = [e for e in receiver.accepted() if e["data"]["run"] == run]
    assert [e["data"]["sequence"] for e in accepted] == list(range(1, len(events) + 1))
    assert [e["id"] for e in accepted] == [e["id"] for e in events]  # each exactly once
    deployed = accepted[-1]["data"]
    assert deployed["state"] == "deployed" and deployed["previous_state"] == "deploying"
    assert deployed["deployment"]["name"] == f"tunedrop-{run}"
    assert deployed["deployment"]["model"] and deployed["deployment"]["expires_at"]

    with urllib.request.urlopen(f"{stack.emulator.url}/_emulator/eventgrid/events") as answer:
        published = [e for e in json.load(answer)["data"] if e["subject"] == run]
    assert [e["id"] for e in published] == [e["id"] for e in events]
    assert all(e["specversion"] == "1.0" for e in published)
    assert published[-1]["data"] == deployed


def test_a_receiver_answering_500_three_times_then_200_gets_the_event_after_the_retries(
    make_stack: Callable[..., Stack], receiver: Receiver
) -> None:
    receiver.answer = lambda event, seen: 500 if seen < 3 else 200
    stack = make_stack(
        **webhook_settings(receiver, events=["tunedrop.run.failed"], WEBHOOK_MAX_ATTEMPTS="5")  # type: ignore[arg-type]
    )
    run = unique("flaky")
    drop_invalid_run(stack, run)
    wait_for_state(stack, run, "failed")
    events = wait_until(lambda: deliveries_settled(stack, run, 2), 60, "the failed event")
    [failed] = [e for e in events if e["type"] == "tunedrop.run.failed"]
    [delivery] = [d for d in failed["deliveries"] if d["endpoint"] == "receiver"]
    assert delivery["state"] == "delivered" and delivery["attempts"] == 4
    assert delivery["last_status"] == 200
    assert receiver.times_seen(failed["id"]) == 4
    assert [e["id"] for e in receiver.accepted()] == [failed["id"]]


def test_a_receiver_that_always_fails_ends_as_a_recorded_dead_letter(
    make_stack: Callable[..., Stack], receiver: Receiver
) -> None:
    receiver.answer = lambda event, seen: 500
    stack = make_stack(
        **webhook_settings(receiver, events=["tunedrop.run.failed"], WEBHOOK_MAX_ATTEMPTS="3")  # type: ignore[arg-type]
    )
    run = unique("deadletter")
    drop_invalid_run(stack, run)
    wait_for_state(stack, run, "failed")
    events = wait_until(lambda: deliveries_settled(stack, run, 2), 60, "the dead letter")
    [failed] = [e for e in events if e["type"] == "tunedrop.run.failed"]
    [delivery] = [d for d in failed["deliveries"] if d["endpoint"] == "receiver"]
    assert delivery["state"] == "failed" and delivery["attempts"] == 3
    assert delivery["last_status"] == 500
    assert delivery["last_error"].startswith("gave up after 3 attempts; HTTP 500")
    assert receiver.times_seen(failed["id"]) == 3


def test_a_host_killed_after_saving_a_transition_but_before_delivery_delivers_once_after_restart(
    make_stack: Callable[..., Stack], receiver: Receiver
) -> None:
    stack = make_stack(**webhook_settings(receiver), EVENTS_TIMER_SCHEDULE=NEVER)
    run = unique("crash")
    drop_invalid_run(stack, run)
    wait_for_state(stack, run, "failed")
    saved = run_events(stack, run)
    assert [e["type"] for e in saved] == ["tunedrop.run.waiting_for_files", "tunedrop.run.failed"]
    assert all(e["deliveries"] == [] for e in saved)  # saved, not yet handed to the queue
    stack.host.kill()
    assert receiver.deliveries == []

    restarted = HostProcess(
        {**stack.environ, "EVENTS_TIMER_SCHEDULE": "* * * * * *"},
        stack.host.log_path.with_name("host-restarted.log"),
    )
    restarted.start()
    stack.host = restarted
    try:
        wait_until(lambda: deliveries_settled(stack, run, 2), 60, "delivery after the restart")
        accepted = receiver.accepted()
        assert [e["id"] for e in accepted] == [e["id"] for e in saved]
        assert [receiver.times_seen(e["id"]) for e in saved] == [1, 1]
    finally:
        restarted.stop()


def test_a_secret_rotation_keeps_deliveries_verifiable_with_the_old_and_the_new_secret(
    make_stack: Callable[..., Stack], receiver: Receiver
) -> None:
    stack = make_stack(**webhook_settings(receiver, events=["tunedrop.run.failed"]))
    run = unique("rotate")
    drop_invalid_run(stack, run)
    wait_for_state(stack, run, "failed")
    events = wait_until(lambda: deliveries_settled(stack, run, 2), 60, "the first delivery")
    [failed] = [e for e in events if e["type"] == "tunedrop.run.failed"]
    assert receiver.deliveries[-1].verified_by == ["old"]
    stack.host.stop()

    rotated = HostProcess(
        {**stack.environ, "WEBHOOK_SECRET": NEW_SECRET, "WEBHOOK_PREVIOUS_SECRET": SECRET},
        stack.host.log_path.with_name("host-rotated.log"),
    )
    rotated.start()
    stack.host = rotated
    try:
        status, view, _ = stack.call("POST", f"/api/runs/{run}/events/{failed['id']}/redeliver")
        assert status == 202 and view["id"] == failed["id"]
        wait_until(lambda: receiver.times_seen(failed["id"]) == 2, 60, "the redelivery")
        assert receiver.deliveries[-1].verified_by == ["old", "new"]
        assert receiver.deliveries[-1].event["id"] == failed["id"]
    finally:
        rotated.stop()
