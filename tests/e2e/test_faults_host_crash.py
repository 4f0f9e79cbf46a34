"""The host process killed (SIGKILL) at each step of a run, right after a paid call reached the
service and before the host could record it, then started again: every run still ends deployed,
with one upload per file, one job and one deployment.

The emulator's `lost_answer` fault carries the call out and then holds its answer, so the test
knows the call has been served, and kills the host while it waits for the answer: the precise
moment an exactly-once design has to survive.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from localdev.emulator import Fault
from shared.runs.states import RunState
from tests.e2e.fault_helpers import (
    FAST_RECOVERY,
    assert_paid_once,
    assert_timeline_consistent,
    log_mark,
    stored_run,
    unique,
    wait_for_state,
    wait_until,
)
from tests.e2e.pipeline_helpers import Drops
from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e

# Far longer than the test needs: the host is killed while it waits, however slow the machine.
HOLD_SECONDS = 300.0


@dataclass(frozen=True)
class KillPoint:
    """Where the host dies: the request whose answer it never gets, and what the run's record
    must look like at that moment (proof that the call was made but not recorded)."""

    method: str
    path: Callable[[str], str]
    state: RunState
    claimed_step: str | None


KILL_POINTS = {
    "after_upload": KillPoint(
        "POST", lambda run: "/openai/files", RunState.UPLOADING, "UploadFile"
    ),
    "after_job_creation": KillPoint(
        "POST", lambda run: "/openai/fine_tuning/jobs", RunState.PROCESSING_FILES, "CreateJob"
    ),
    "after_arm_put": KillPoint(
        "PUT", lambda run: f"/deployments/tunedrop-{run}", RunState.SUCCEEDED, "CreateDeployment"
    ),
    "mid_deploy_probe": KillPoint(
        "POST",
        lambda run: f"/deployments/tunedrop-{run}/chat/completions",
        RunState.DEPLOYING,
        None,
    ),
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_a_host_killed_right_after_a_paid_call_resumes_the_run_without_paying_twice(
    make_stack: Callable[..., Stack], drops: Drops, point: str
) -> None:
    kill = KILL_POINTS[point]
    stack = make_stack(**FAST_RECOVERY)
    emulator = stack.emulator
    run = unique(point.replace("_", "-"))
    since = log_mark(emulator)
    path = kill.path(run)
    emulator.inject(
        Fault("lost_answer", path_contains=path, method=kill.method, hold_seconds=HOLD_SECONDS)
    )
    try:
        drops.drop_sample(stack, run)
        wait_until(
            lambda: any(
                r.method == kill.method and r.path.endswith(path)
                for r in emulator.requests()[since:]
            ),
            timeout=60,
            what=f"{kill.method} {path} to reach the emulator",
        )
        stack.host.kill()
    finally:
        emulator.clear_faults()

    record = stored_run(stack, run)
    assert record is not None and record.state is kill.state, record
    assert (record.claim.step if record.claim else None) == kill.claimed_step
    if point == "after_upload":
        assert not record.uploads  # served, but never recorded
    if point == "after_job_creation":
        assert record.job is None
    if point == "after_arm_put":
        assert record.deployment is None  # the claim was saved, the request never was

    stack.host.start()
    deployed = wait_for_state(stack, run, "deployed", timeout=60)

    assert_paid_once(emulator, run, since=since)
    drops.check_untouched()
    states = assert_timeline_consistent(deployed)
    assert states[-2:] == ["deploying", "deployed"]
    assert deployed["deployment"]["created_by_tunedrop"] is True  # so its TTL still deletes it
    assert deployed["failure_reason"] is None and deployed["stalled"] is False
    if point == "after_job_creation":
        reasons = [entry["reason"] for entry in deployed["timeline"]]
        assert any(
            reason.startswith("found the job an earlier attempt created") for reason in reasons
        )
    status, answer, _ = stack.call("POST", f"/api/runs/{run}/chat", {"message": "こんにちは"})
    assert status == 200 and answer["reply"]
