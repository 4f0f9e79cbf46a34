"""Two hosts on one storage account, ticking at the same moments: their saves collide on ETags,
yet each run pays once, records every transition once, and ends deployed. And a run that makes
no progress for STALLED_AFTER_MINUTES is marked stalled and shown so."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable

import pytest

from localdev.azurite import free_port
from tests.e2e.fault_helpers import (
    FAST_RECOVERY,
    SAMPLE,
    assert_inbox_untouched,
    assert_paid_once,
    assert_timeline_consistent,
    drop_sample,
    log_mark,
    run_view,
    unique,
    wait_for_state,
    wait_until,
)
from tests.e2e.stack import HostProcess, Stack

pytestmark = pytest.mark.e2e

TRANSITION_LINE = re.compile(r"Run (\S+): (\w+) -> (\w+)")
TICK_LINE = re.compile(r"Tick: (\d+) active runs, .*?, (\d+) conflicts")


def test_two_hosts_ticking_at_once_pay_once_and_record_each_transition_once(
    make_stack: Callable[..., Stack],
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
        etags = {}
        for run in runs:
            etags.update(drop_sample(stack, run))
        views = [wait_for_state(stack, run, "deployed", timeout=90) for run in runs]
    finally:
        second.stop()

    assert_paid_once(stack.emulator, *runs, since=since)
    assert_inbox_untouched(stack, etags)
    logs = [stack.host.log(), second.log()]
    for run, view in zip(runs, views, strict=True):
        states = assert_timeline_consistent(view)
        logged = [
            (match[2], match[3])
            for log in logs
            for match in TRANSITION_LINE.finditer(log)
            if match[1] == run
        ]
        # Each host logs a move only after its save won; a move logged twice would be a
        # transition both hosts believed they made.
        assert logged and max(Counter(logged).values()) == 1, logged
        assert all(start in states and end in states for start, end in logged), logged
    ticks = [TICK_LINE.findall(log) for log in logs]
    assert all(any(int(active) > 0 for active, _ in found) for found in ticks)  # both worked
    conflicts = sum(int(count) for found in ticks for _, count in found)
    assert conflicts > 0, "the two hosts never collided; the test proved nothing"


def test_a_run_without_progress_is_marked_stalled_and_shown_so_until_it_moves_again(
    make_stack: Callable[..., Stack],
) -> None:
    minutes = 0.03  # 1.8 s
    stack = make_stack(STALLED_AFTER_MINUTES=str(minutes), SETTLE_SECONDS="1")
    run = unique("stalled")
    stack.inbox.upload_blob(f"{run}/run.json", (SAMPLE / "run.json").read_bytes())

    stalled = wait_until(
        lambda: (view := run_view(stack, run)) and view["stalled"] and view,
        timeout=20,
        what="the run waiting for train.jsonl to be marked stalled",
    )
    assert stalled["state"] == "waiting_for_files"
    note = f"no progress for {minutes:g} minutes in state waiting_for_files"
    assert [entry["reason"] for entry in stalled["timeline"]].count(note) == 1
    status, listing, _ = stack.call("GET", "/api/runs?state=waiting_for_files")
    assert status == 200
    assert [item["stalled"] for item in listing["runs"] if item["name"] == run] == [True]

    time.sleep(2.5)  # more ticks: the run is marked once, not once per tick
    again = run_view(stack, run)
    assert again and [entry["reason"] for entry in again["timeline"]].count(note) == 1

    drop_sample(stack, run, validation=False)
    moving = wait_for_state(stack, run, "uploading", "processing_files", "queued", "running",
                            "succeeded", "deploying", "deployed", timeout=30)  # fmt: skip
    assert moving["stalled"] is False
