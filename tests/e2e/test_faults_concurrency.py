"""Two hosts on one storage account, ticking at the same moments: their saves collide on ETags,
yet each run pays once, records every transition once, and ends deployed. And a run that makes
no progress for STALLED_AFTER_MINUTES is marked stalled and shown so."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from localdev.azurite import free_port
from localdev.emulator import Fault
from tests.e2e.fault_helpers import (
    FAST_RECOVERY,
    SAMPLE,
    TICK_LINE,
    assert_each_move_logged_once,
    assert_paid_once,
    log_mark,
    run_view,
    stored_run,
    ticks_logged,
    unique,
    wait_for_state,
    wait_until,
)
from tests.e2e.pipeline_helpers import Drops
from tests.e2e.stack import HostProcess, Stack

pytestmark = pytest.mark.e2e

HOLD_SECONDS = 600.0  # ended by the test, never by the clock


def test_two_hosts_ticking_at_once_pay_once_and_record_each_transition_once(
    make_stack: Callable[..., Stack], drops: Drops
) -> None:
    stack = make_stack(**FAST_RECOVERY)
    second = HostProcess(
        {**stack.environ, "LOCALDEV_HOST_PORT": str(free_port())},
        stack.host.log_path.with_name("second-host.log"),
    )
    second.start()
    try:
        runs = [unique("two-hosts"), unique("two-hosts")]
        since = log_mark(stack.emulator)
        # The first poll of the first job is held: the host that sent it read the run before,
        # and the other host moves the run on meanwhile, so the held host's save must collide.
        polls = "/openai/fine_tuning/jobs/ftjob-"
        stack.emulator.inject(Fault("timeout", polls, "GET", hold_seconds=HOLD_SECONDS))
        for run in runs:
            drops.drop_sample(stack, run)
        wait_until(
            # Only this test's requests: an earlier test on the session's emulator (an outage's
            # held calls) leaves status-0 entries of its own in the log.
            lambda: any(
                r.status == 0 and polls in r.path for r in stack.emulator.requests()[since:]
            ),
            timeout=60,
            what="a host's job poll to be held",
        )
        read = [stored_run(stack, run) for run in runs]
        wait_until(
            lambda: all(
                (now := stored_run(stack, run)) and then and now.version != then.version
                for run, then in zip(runs, read, strict=True)
            ),
            timeout=60,
            what="the other host to move both runs on while the first one waits",
        )
        stack.emulator.release_holds()
        views = [wait_for_state(stack, run, "deployed", timeout=90) for run in runs]
    finally:
        stack.emulator.release_holds()
        second.stop()

    assert_paid_once(stack.emulator, *runs, since=since)
    logs = [stack.host.log(), second.log()]
    assert_each_move_logged_once(runs, views, logs)
    ticks = [TICK_LINE.findall(log) for log in logs]
    assert all(any(int(active) > 0 for active, _ in found) for found in ticks)  # both worked
    conflicts = sum(int(count) for found in ticks for _, count in found)
    assert conflicts > 0, "the two hosts never collided; the test proved nothing"


def test_a_run_without_progress_is_marked_stalled_and_shown_so_until_it_moves_again(
    make_stack: Callable[..., Stack], drops: Drops
) -> None:
    # Whatever the machine's speed, a run waiting for a train.jsonl that never comes makes no
    # progress: the stall below comes from that, not from a tick arriving late.
    minutes = 0.03  # 1.8 s
    stack = make_stack(STALLED_AFTER_MINUTES=str(minutes), SETTLE_SECONDS="1")
    run = unique("stalled")
    drops.drop(stack, run, "run.json", (SAMPLE / "run.json").read_bytes())

    stalled = wait_until(
        lambda: (view := run_view(stack, run)) and view["stalled"] and view,
        timeout=60,
        what="the run waiting for train.jsonl to be marked stalled",
    )
    assert stalled["state"] == "waiting_for_files"
    note = f"no progress for {minutes:g} minutes in state waiting_for_files"
    assert [entry["reason"] for entry in stalled["timeline"]].count(note) == 1
    status, listing, _ = stack.call("GET", "/api/runs?state=waiting_for_files")
    assert status == 200
    assert [item["stalled"] for item in listing["runs"] if item["name"] == run] == [True]

    # Two more ticks ended: at least one of them began after the stall was saved and saw it.
    ticks = ticks_logged(stack.host.log())
    wait_until(lambda: ticks_logged(stack.host.log()) >= ticks + 2, timeout=60, what="2 ticks")
    again = run_view(stack, run)
    assert again and [entry["reason"] for entry in again["timeline"]].count(note) == 1

    drops.drop_sample(stack, run, validation=False)
    # Moving on clears the flag. (A later state may be flagged again once it too has made no
    # progress for 1.8 s, so the condition is waited for rather than read once.)
    wait_until(
        lambda: (
            (view := run_view(stack, run))
            and view["state"] != "waiting_for_files"
            and view["stalled"] is False
        ),
        timeout=60,
        what="the run to move on from waiting_for_files, no longer flagged stalled",
    )
