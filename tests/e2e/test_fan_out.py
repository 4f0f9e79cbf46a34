"""The timer at scale, on the local stack: with FAN_OUT_ABOVE_RUNS=0 every tick puts its due runs
on the runs queue, and two hosts (both ticking, both reading the queue, as two instances would)
advance them: no run is advanced twice, none is left out, each pays once."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from localdev.azurite import free_port
from tests.e2e.fault_helpers import (
    assert_each_move_logged_once,
    assert_paid_once,
    log_mark,
    unique,
    wait_for_state,
)
from tests.e2e.pipeline_helpers import Drops
from tests.e2e.stack import HostProcess, Stack

pytestmark = pytest.mark.e2e

FANNED_OUT = re.compile(r"Tick: \d+ active runs, (\d+) due put on the runs queue")
IN_PROCESS_STEPS = re.compile(r"Tick: \d+ active runs, steps (\{.*?\})")
QUEUED = re.compile(r"Queued runs: (\d+) advanced, (\d+) stale")
RUNS = 6


def test_two_hosts_on_one_runs_queue_advance_each_run_once_and_leave_none_out(
    make_stack: Callable[..., Stack], drops: Drops
) -> None:
    stack = make_stack(FAN_OUT_ABOVE_RUNS="0")
    second = HostProcess(
        {**stack.environ, "LOCALDEV_HOST_PORT": str(free_port())},
        stack.host.log_path.with_name("second-host.log"),
    )
    second.start()
    try:
        runs = [unique("fan-out") for _ in range(RUNS)]
        since = log_mark(stack.emulator)
        for run in runs:
            drops.drop_sample(stack, run)
        views = [wait_for_state(stack, run, "deployed", timeout=180) for run in runs]
    finally:
        second.stop()

    assert_paid_once(stack.emulator, *runs, since=since)
    logs = [stack.host.log(), second.log()]
    assert_each_move_logged_once(runs, views, logs)
    for log in logs:
        assert any(int(due) > 0 for due in FANNED_OUT.findall(log)), "a timer never fanned out"
        assert set(IN_PROCESS_STEPS.findall(log)) <= {"{}"}, "a timer advanced runs itself"
    consumed = [[(int(a), int(s)) for a, s in QUEUED.findall(log)] for log in logs]
    assert all(sum(a for a, _ in found) > 0 for found in consumed), "a host's queue did no work"
    stale = sum(s for found in consumed for _, s in found)
    # Both timers queue every due run on every tick, so most runs are queued twice or more:
    # the copies met a newer record and were left alone.
    assert stale > 0, "no run was queued twice; the test proved nothing"
