"""Sharing an Azure OpenAI account with tight limits: runs wait for room instead of failing,
a refused deployment never loses its model, a vanished deployment is noticed, and a run leaves
none of its files behind (but never touches another tool's).

Each test has an emulator of its own with the limits it needs, on the emulator's fast timings,
so the whole of it takes seconds; every wait is for a condition."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from localdev.azurite import AzuritePorts
from localdev.emulator import Emulator, Fault, Timings, running_emulator
from localdev.emulator.limits import Limits
from tests.e2e.fault_helpers import FAST_RECOVERY, run_view, unique, wait_all, wait_for_state
from tests.e2e.pipeline_helpers import (
    Drops,
    guarded_inbox,
    run_json,
    states_of,
    timeline_text,
)
from tests.e2e.stack import HostProcess, Stack, stack_environ
from tests.emulator.helpers import arm_client, openai_client

pytestmark = pytest.mark.e2e

TIGHT = Limits(running_jobs=1, queued_jobs=1, deployments=2, files=6)
# What Tunedrop is told of the same account, and how fast it cleans up and looks again.
TIGHT_SETTINGS = {
    "ACCOUNT_MAX_RUNNING_JOBS": "1",
    "ACCOUNT_MAX_QUEUED_JOBS": "1",
    "ACCOUNT_MAX_DEPLOYMENTS": "2",
    "ACCOUNT_MAX_FILES": "6",
    "KEEP_SERVICE_FILES_HOURS": "0",
    **FAST_RECOVERY,
}


@pytest.fixture
def tight_emulator() -> Iterator[Emulator]:
    with running_emulator(timings=Timings.fast(), limits=TIGHT) as emulator:
        yield emulator


@pytest.fixture
def sharing_stack(
    azurite: AzuritePorts, tight_emulator: Emulator, tmp_path: Path
) -> Iterator[Callable[..., Stack]]:
    hosts: list[HostProcess] = []

    def make(**overrides: str) -> Stack:
        environ = stack_environ(azurite, tight_emulator, **{**TIGHT_SETTINGS, **overrides})
        host = HostProcess(environ, tmp_path / f"host-{len(hosts)}.log")
        hosts.append(host)
        host.start()
        return Stack(azurite=azurite, emulator=tight_emulator, environ=environ, host=host)

    yield make
    for host in hosts:
        host.stop()


@pytest.fixture
def tight_drops(tight_emulator: Emulator) -> Iterator[Drops]:
    with guarded_inbox(tight_emulator) as guarded:
        yield guarded


def test_six_runs_in_a_tight_account_all_deploy_and_expire_within_its_limits_leaving_no_file(
    sharing_stack: Callable[..., Stack], tight_emulator: Emulator, tight_drops: Drops
) -> None:
    stack = sharing_stack(DEPLOY_TTL_HOURS="0.0005")  # under two seconds
    runs = [unique(f"share{n}") for n in range(6)]
    for run in runs:
        tight_drops.drop_run(stack, run)

    views = wait_all(stack, runs, "expired", timeout=180)

    for run, view in views.items():
        assert "deployed" in states_of(view), (run, states_of(view))
        assert "failed" not in states_of(view)
    waited = [view for view in views.values() if "waiting for " in timeline_text(view)]
    assert waited, "with room for two runs at a time, some of six must have waited"
    report = tight_emulator.limits_report()
    limits, marks = report["limits"], report["high_water"]
    for key in ("running_jobs", "queued_jobs", "deployments", "files"):
        assert marks[key] <= limits[key], (key, marks)
    assert marks["deployments"] >= 1 and marks["running_jobs"] == 1
    client = openai_client(tight_emulator)
    assert [f.filename for f in client.files.list()] == [], "a run left a file behind"
    notes = "\n".join(timeline_text(view) for view in views.values())
    assert notes.count("from Azure OpenAI") == 6 * 3  # two uploads and a results file each


SHAPES = ("400", "429", "429-no-retry-after", "409")


def test_a_deployment_refused_for_a_full_quota_in_each_shape_keeps_the_run_deployable(
    sharing_stack: Callable[..., Stack], tight_emulator: Emulator, tight_drops: Drops
) -> None:
    """No public source shows how the service refuses a deployment over the quota: each
    plausible shape sends the run back to waiting, and it deploys once the refusals stop."""
    tight_emulator.set_limits(deployments=4, files=12)
    stack = sharing_stack(ACCOUNT_MAX_DEPLOYMENTS="4", ACCOUNT_MAX_FILES="12")
    runs = {shape: unique(f"refused{shape.replace('-', '')}") for shape in SHAPES}
    for run in runs.values():
        tight_drops.drop_run(stack, run, config=run_json(deploy={"enabled": False}))
    wait_all(stack, list(runs.values()), "succeeded", timeout=90)
    for shape, run in runs.items():
        # Another tool takes the slot between Tunedrop's count and its PUT, three times over.
        put = f"/deployments/tunedrop-{run}"
        tight_emulator.inject(Fault("quota", path_contains=put, method="PUT", shape=shape, times=3))
        status, body, _ = stack.call("POST", f"/api/runs/{run}/deploy", {})
        assert status in (200, 202), body

    views = wait_all(stack, list(runs.values()), "deployed", timeout=90)

    for shape, run in runs.items():
        view = views[run]
        assert "failed" not in states_of(view) and view["failure_reason"] is None
        notes = timeline_text(view)
        assert notes.count("which never fails the run") == 3, (shape, notes)
        assert "The limit for this resource has been reached" in notes
        assert view["retry"] is None and view["waiting"] is None
        assert tight_emulator.count("PUT", f"/deployments/tunedrop-{run}") == 4


def test_a_deployment_deleted_behind_tunedrops_back_is_noticed_and_deployed_again(
    sharing_stack: Callable[..., Stack], tight_emulator: Emulator, tight_drops: Drops
) -> None:
    stack = sharing_stack(DEPLOYMENT_CHECK_MINUTES="0.02")  # read back every 1.2 s
    run = unique("vanish")
    tight_drops.drop_run(stack, run)
    wait_for_state(stack, run, "deployed")
    arm = arm_client(tight_emulator)
    group, account = tight_emulator.resource_group, tight_emulator.account_name
    arm.deployments.begin_delete(group, account, f"tunedrop-{run}").result()

    view = wait_for_state(stack, run, "expired", timeout=30)
    error = view["deployment"]["error"]
    assert "is gone: deleted outside Tunedrop" in error and "15 days" in error
    status, body, _ = stack.call("POST", f"/api/runs/{run}/chat", {"message": "hello"})
    assert status == 409 and "deleted outside Tunedrop" in body["detail"], body

    status, body, _ = stack.call("POST", f"/api/runs/{run}/deploy", {})
    assert status in (200, 202), body
    wait_for_state(stack, run, "deployed", timeout=30)


def test_another_tools_files_are_counted_but_never_deleted(
    sharing_stack: Callable[..., Stack], tight_emulator: Emulator, tight_drops: Drops
) -> None:
    client = openai_client(tight_emulator)
    theirs = [
        client.files.create(file=(f"theirs-{n}.jsonl", b'{"a": 1}\n'), purpose="fine-tune").id
        for n in range(4)
    ]
    stack = sharing_stack()
    run = unique("crowded")
    tight_drops.drop_run(stack, run)

    deadline = time.monotonic() + 30
    view: dict[str, Any] = {}
    while not view.get("waiting") and time.monotonic() < deadline:
        time.sleep(0.2)
        view = run_view(stack, run) or {}
    assert view["state"] == "waiting_for_files"
    assert view["waiting"]["reason"] == (
        "waiting for room for its files: 4 of 6 files in use, 0 runs ahead"
    )
    status, page, _ = stack.call("GET", f"/api/runs/{run}/view")
    assert status == 200 and "waiting for room for its files" in str(page)

    client.files.delete(theirs[0])  # the other tool makes room
    view = wait_for_state(stack, run, "deployed", timeout=60)
    assert "room on the account found" in timeline_text(view)
    left = {f.id for f in client.files.list()}
    assert set(theirs[1:]) <= left, "Tunedrop deleted another tool's file"
