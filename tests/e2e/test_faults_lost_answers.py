"""A paid call the service carried out but whose answer never came back (the connection broke on
the way): the host survives, sees a transient error, tries again on a later tick, and finds what
the lost call created instead of creating it twice."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from localdev.emulator import Fault
from tests.e2e.fault_helpers import (
    FAST_RECOVERY,
    assert_paid_once,
    assert_timeline_consistent,
    log_mark,
    unique,
    wait_for_state,
)
from tests.e2e.pipeline_helpers import Drops
from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e

LOST_CALLS = {
    "upload": ("POST", lambda run: "/openai/files"),
    "job_creation": ("POST", lambda run: "/openai/fine_tuning/jobs"),
    "arm_put": ("PUT", lambda run: f"/deployments/tunedrop-{run}"),
}


@pytest.mark.parametrize("call", list(LOST_CALLS))
def test_a_paid_call_whose_answer_is_lost_is_found_again_not_made_twice(
    make_stack: Callable[..., Stack], drops: Drops, call: str
) -> None:
    method, path_of = LOST_CALLS[call]
    stack = make_stack(**FAST_RECOVERY)
    run = unique(f"lost-{call.replace('_', '-')}")
    since = log_mark(stack.emulator)
    stack.emulator.inject(Fault("lost_answer", path_of(run), method, times=1, hold_seconds=0.5))
    try:
        drops.drop_sample(stack, run)
        deployed = wait_for_state(stack, run, "deployed", timeout=60)
    finally:
        stack.emulator.clear_faults()

    assert_paid_once(stack.emulator, run, since=since)
    drops.check_untouched()
    assert_timeline_consistent(deployed)
    notes = [entry["reason"] for entry in deployed["timeline"] if entry["from"] == entry["to"]]
    # The lost answer was met as a transient error and the step tried again: what the retry
    # did was find the file, job or deployment the lost call had created (counted above).
    assert any("will be tried again" in note for note in notes), notes
    assert deployed["deployment"]["created_by_tunedrop"] is True
