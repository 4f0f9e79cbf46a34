"""Storage restarted mid-run, the Azure OpenAI/ARM service unreachable for a while, and a storm of
429s with Retry-After: each run waits, retries on later ticks and ends deployed, with no paid
call made twice and a timeline in which every move follows the last."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from localdev.azurite import free_ports
from localdev.emulator import Fault
from tests.e2e.fault_helpers import (
    FAST_RECOVERY,
    RestartableAzurite,
    assert_paid_once,
    assert_timeline_consistent,
    emulator_unreachable,
    log_mark,
    run_view,
    unique,
    wait_for_state,
    wait_until,
)
from tests.e2e.pipeline_helpers import Drops
from tests.e2e.stack import HostProcess, Stack, stack_environ

pytestmark = pytest.mark.e2e

# Four of the stack's ticks and ten of the backoff below (RETRY_BASE_SECONDS 0.1): a retry
# no sooner than this can only be Retry-After's doing.
RETRY_AFTER = 1


@pytest.fixture
def own_azurite(tmp_path: Path) -> Iterator[RestartableAzurite]:
    """An Azurite for this test alone (the session's must not go down under other tests)."""
    azurite = RestartableAzurite(tmp_path / "azurite", free_ports())
    azurite.start()
    yield azurite
    azurite.stop()


def test_a_run_survives_storage_restarting_under_it_and_the_host_keeps_its_triggers(
    own_azurite: RestartableAzurite, emulator: Any, tmp_path: Path, drops: Drops
) -> None:
    environ = stack_environ(own_azurite.ports, emulator, **FAST_RECOVERY)
    host = HostProcess(environ, tmp_path / "host.log")
    host.start()
    try:
        stack = Stack(azurite=own_azurite.ports, emulator=emulator, environ=environ, host=host)
        run = unique("storage-restart")
        since = log_mark(emulator)
        drops.drop_sample(stack, run)
        wait_for_state(stack, run, "queued", "running", "succeeded", "deploying", timeout=60)

        own_azurite.stop()
        status, body, _ = stack.call("GET", f"/api/runs/{run}")
        assert status == 503, body  # the API says storage is away, rather than hanging
        # The timer meets the outage before storage comes back: a tick fails on it.
        before = failed_ticks(host)
        wait_until(
            lambda: failed_ticks(host) > before,
            timeout=60,
            what="a tick of the host to fail on the missing storage",
        )
        own_azurite.start()

        deployed = wait_for_state(stack, run, "deployed", timeout=60)
        assert_paid_once(emulator, run, since=since)
        drops.check_untouched()
        assert_timeline_consistent(deployed)
        assert deployed["stalled"] is False

        # The blob trigger outlived the outage: a file dropped now is still validated.
        later = unique("after-restart")
        drops.drop_sample(stack, later, validation=False)
        checked = wait_until(
            lambda: (run_view(stack, later) or {}).get("files", {}).get("train.jsonl"),
            timeout=30,
            what=f"{later}/train.jsonl to be validated after the restart",
        )
        assert checked["valid"] is True
    finally:
        host.stop()


def test_a_run_waits_out_an_unreachable_service_then_finishes_with_one_job(
    make_stack: Callable[..., Stack], drops: Drops
) -> None:
    # The outage lasts until the test has seen what it checks, however slow the machine: the
    # error recorded on the run, and the run flagged stalled (no progress for 2.4 s).
    stack = make_stack(**FAST_RECOVERY, STALLED_AFTER_MINUTES="0.04")
    run = unique("service-down")
    since = log_mark(stack.emulator)
    drops.drop_sample(stack, run)
    wait_for_state(stack, run, "queued", "running", timeout=60)
    with emulator_unreachable(stack.emulator):
        waiting = wait_until(
            lambda: (view := run_view(stack, run)) and view["stalled"] and view["retry"] and view,
            timeout=60,
            what="the run to show the error it keeps meeting and be flagged stalled",
        )
        assert waiting["retry"]["last_error"]  # the error it keeps meeting is shown
        assert waiting["state"] in ("queued", "running")

    deployed = wait_for_state(stack, run, "deployed", timeout=60)
    assert_paid_once(stack.emulator, run, since=since)
    assert_timeline_consistent(deployed)
    assert deployed["stalled"] is False and deployed["retry"] is None
    notes = [entry["reason"] for entry in deployed["timeline"] if entry["from"] == entry["to"]]
    assert any("will be tried again" in note for note in notes), notes
    assert any("no progress for" in note for note in notes), notes
    dropped = [r for r in stack.emulator.requests()[since:] if r.status == 0]
    assert dropped, "the outage never reached the run"


def test_a_storm_of_429s_is_waited_out_as_retry_after_asks_and_pays_once(
    make_stack: Callable[..., Stack], drops: Drops
) -> None:
    # A backoff far below Retry-After: the gaps below can only come from honouring Retry-After.
    stack = make_stack(CLAIM_LEASE_SECONDS="2", RETRY_BASE_SECONDS="0.1")
    emulator = stack.emulator
    run = unique("throttled")
    since = log_mark(emulator)
    storm = [
        ("/openai/files", "POST", 2),
        ("/openai/fine_tuning/jobs", "POST", 1),
        (f"/deployments/tunedrop-{run}", "PUT", 1),
    ]
    for path, method, times in storm:
        emulator.inject(Fault("throttle", path, method, times=times, retry_after=RETRY_AFTER))
    try:
        drops.drop_sample(stack, run)
        deployed = wait_for_state(stack, run, "deployed", timeout=90)
    finally:
        emulator.clear_faults()

    assert_paid_once(emulator, run, since=since)
    assert_timeline_consistent(deployed)
    served = emulator.requests()[since:]
    throttled = [index for index, record in enumerate(served) if record.status == 429]
    assert len(throttled) == sum(times for _, _, times in storm)
    for index in throttled:
        after = served[index + 1 :]
        same = [
            r for r in after if (r.method, r.path) == (served[index].method, served[index].path)
        ]
        assert same, f"{served[index].path} was never tried again"
        waited = same[0].time - served[index].time
        assert waited >= RETRY_AFTER, f"{served[index].path} retried after {waited:.2f} s"
    notes = [entry["reason"] for entry in deployed["timeline"] if entry["from"] == entry["to"]]
    assert sum("will be tried again" in note for note in notes) == len(throttled), notes


def failed_ticks(host: HostProcess) -> int:
    """How many of the host's timer ticks have failed so far."""
    return host.log().count("timer function advance_active_runs failed")
