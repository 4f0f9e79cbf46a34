"""The event types, payloads and sequence numbers a run's moves raise (pure core)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.notifications.events import EVENT_TYPES, event_payload, event_type
from shared.runs.facts import DeploymentInfo, JobInfo
from shared.runs.record import Run
from shared.runs.states import RunState

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_there_is_one_event_type_per_run_state() -> None:
    assert {f"tunedrop.run.{state.value}" for state in RunState} <= set(EVENT_TYPES)
    assert event_type("deployed") == "tunedrop.run.deployed"


def test_every_move_raises_an_event_with_the_next_sequence_number_and_both_states() -> None:
    run = Run.new("kitsune", T0)
    run.fail("train.jsonl is invalid", T0 + timedelta(seconds=1))
    names = [(e.sequence, e.name, e.previous_state) for e in run.raised]
    assert names == [(1, "waiting_for_files", None), (2, "failed", RunState.WAITING_FOR_FILES)]
    payload = event_payload(run, run.raised[1], "evt_" + "0" * 32)
    assert payload["type"] == "tunedrop.run.failed"
    assert payload["data"] == {
        "run": "kitsune",
        "state": "failed",
        "previous_state": "waiting_for_files",
        "sequence": 2,
        "reason": "train.jsonl is invalid",
        "failure_reason": "train.jsonl is invalid",
    }


def test_a_note_raises_no_event() -> None:
    run = Run.new("kitsune", T0)
    run.raised.clear()
    run.mark_stalled(T0, 5)
    assert run.raised == []


def test_the_deployed_event_names_the_deployment_its_model_and_its_expiry() -> None:
    run = Run.new("kitsune", T0)
    run.state = RunState.DEPLOYING
    run.job = JobInfo(id="ftjob-1", status="succeeded", created_at=T0)
    run.deployment = DeploymentInfo(
        name="tunedrop-kitsune", sku="Standard", capacity=1, ttl_hours=2, requested_at=T0,
        model="gpt-4o-mini.ft-1", created_by_tunedrop=True,
    )  # fmt: skip
    run.raised.clear()
    run.deployment_serving(T0)
    payload = event_payload(run, run.raised[-1], "evt_" + "1" * 32)
    assert payload["type"] == "tunedrop.run.deployed"
    assert payload["data"]["deployment"] == {
        "name": "tunedrop-kitsune",
        "model": "gpt-4o-mini.ft-1",
        "expires_at": (T0 + timedelta(hours=2)).isoformat(),
    }


def test_the_sequence_survives_the_stored_record() -> None:
    from shared.runs.codec import run_from_dict, run_to_dict

    run = Run.new("kitsune", T0)
    run.fail("bad", T0)
    again = run_from_dict(run_to_dict(run))
    assert again.event_sequence == 2 and again.raised == []
    assert "raised" not in run_to_dict(run)
