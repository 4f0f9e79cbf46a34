"""A pool of two emulated Azure OpenAI accounts, each allowing one running job and one
deployment: runs spread over both and all deploy, a pinned run goes where it is told, and a
host killed mid-run resumes on the same account with one job in all.

Each emulator is a server of its own (own endpoint, ARM port, account name and CA), on the
emulator's fast timings; every wait is for a condition."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from localdev.azurite import AzuritePorts
from localdev.emulator import Emulator, Fault, Timings, running_emulator
from localdev.emulator.limits import Limits
from localdev.pool import account_name, pool_settings
from tests.e2e.fault_helpers import (
    FAST_RECOVERY,
    jobs_of_run,
    log_mark,
    stored_run,
    unique,
    wait_all,
    wait_for_state,
    wait_until,
)
from tests.e2e.pipeline_helpers import Drops, ask, run_json, states_of
from tests.e2e.stack import HostProcess, Stack, stack_environ

pytestmark = pytest.mark.e2e

ONE_AT_A_TIME = Limits(running_jobs=1, deployments=1)
# What Tunedrop is told of each account: one running job (and one queued), one deployment.
POOL_LIMITS = {"running_jobs": 1, "queued_jobs": 1, "deployments": 1}


@pytest.fixture
def pool() -> Iterator[list[Emulator]]:
    with ExitStack() as stack:
        yield [
            stack.enter_context(
                running_emulator(
                    timings=Timings.fast(), limits=ONE_AT_A_TIME, account_name=account_name(i)
                )
            )
            for i in range(2)
        ]


@pytest.fixture
def pool_stack(
    azurite: AzuritePorts, pool: list[Emulator], tmp_path: Path
) -> Iterator[Callable[..., Stack]]:
    hosts: list[HostProcess] = []

    def make(**overrides: str) -> Stack:
        settings = pool_settings(pool, tmp_path / "pool", POOL_LIMITS)
        environ = stack_environ(azurite, pool[0], **{**settings, **FAST_RECOVERY, **overrides})
        host = HostProcess(environ, tmp_path / f"host-{len(hosts)}.log")
        hosts.append(host)
        host.start()
        return Stack(azurite=azurite, emulator=pool[0], environ=environ, host=host)

    yield make
    for host in hosts:
        host.kill()


@pytest.fixture
def pool_drops(pool: list[Emulator]) -> Iterator[Drops]:
    drops = Drops()
    yield drops
    for emulator in pool:
        emulator.clear_faults()
    drops.check_untouched()


def test_four_runs_dropped_at_once_use_both_accounts_and_all_deploy(
    pool_stack: Callable[..., Stack], pool: list[Emulator], pool_drops: Drops
) -> None:
    stack = pool_stack(DEPLOY_TTL_HOURS="0.0005")  # under two seconds: slots free up
    runs = [unique(f"pool{n}") for n in range(4)]
    for run in runs:
        pool_drops.drop_run(stack, run)

    views = wait_all(stack, runs, "expired", timeout=180)

    names = [emulator.account_name for emulator in pool]
    placed = {run: view["account"] for run, view in views.items()}
    assert sorted(placed.values()) == sorted(names * 2), placed
    for run, view in views.items():
        assert "deployed" in states_of(view) and view["failure_reason"] is None, view
        emulator = pool[names.index(view["account"])]
        assert len(jobs_of_run(emulator, run)) == 1, run  # trained where it was placed
        other = pool[1 - names.index(view["account"])]
        assert jobs_of_run(other, run) == [], run
    for emulator in pool:
        marks = emulator.limits_report()["high_water"]
        assert marks["running_jobs"] == 1 and marks["deployments"] == 1, marks
    # The run list, the run page and the events name the account too.
    status, page, _ = stack.call("GET", "/api/runs")
    assert status == 200
    listed = {item["name"]: item["account"] for item in page["runs"]}
    assert {run: listed[run] for run in runs} == placed
    status, html, _ = stack.call("GET", f"/api/runs/{runs[0]}/view")
    assert status == 200 and placed[runs[0]] in html.decode()
    status, events, _ = stack.call("GET", f"/api/runs/{runs[0]}/events")
    assert status == 200
    kinds = {event["type"]: event["payload"]["data"] for event in events["events"]}
    assert kinds["tunedrop.run.placed"]["account"] == placed[runs[0]]
    assert kinds["tunedrop.run.deployed"]["account"] == placed[runs[0]]


def test_a_run_pinned_to_an_account_goes_there(
    pool_stack: Callable[..., Stack], pool: list[Emulator], pool_drops: Drops
) -> None:
    stack = pool_stack()
    second = pool[1].account_name  # the first would win by list order
    run = unique("pinned")
    pool_drops.drop_run(stack, run, config=run_json(account=second))

    view = wait_for_state(stack, run, "deployed", timeout=90)

    assert view["account"] == second
    assert len(jobs_of_run(pool[1], run)) == 1 and jobs_of_run(pool[0], run) == []
    since = [log_mark(emulator) for emulator in pool]
    assert ask(stack, run, "こんにちは")["reply"]  # chat goes where the model is deployed
    chats = [
        [r for r in emulator.requests()[mark:] if r.path.endswith("/chat/completions")]
        for emulator, mark in zip(pool, since, strict=True)
    ]
    assert len(chats[1]) == 1 and chats[0] == [], chats


def test_a_run_pinned_to_an_account_outside_the_pool_fails_naming_it(
    pool_stack: Callable[..., Stack], pool_drops: Drops
) -> None:
    stack = pool_stack()
    run = unique("nowhere")
    pool_drops.drop_run(stack, run, config=run_json(account="elsewhere"))

    view = wait_for_state(stack, run, "failed", timeout=60)

    assert "'elsewhere'" in view["failure_reason"] and view["account"] is None


def test_a_host_killed_mid_run_resumes_on_the_same_account_with_one_job(
    pool_stack: Callable[..., Stack], pool: list[Emulator], pool_drops: Drops
) -> None:
    stack = pool_stack()
    run = unique("killed")
    marks = [log_mark(emulator) for emulator in pool]
    for emulator in pool:  # the job is created, but its answer never reaches the host
        emulator.inject(
            Fault("lost_answer", path_contains="/openai/fine_tuning/jobs", method="POST",
                  hold_seconds=300.0)
        )  # fmt: skip
    pool_drops.drop_run(stack, run, config=run_json(deploy={"enabled": False}))
    served = wait_until(
        lambda: [
            i
            for i, emulator in enumerate(pool)
            if any(
                r.method == "POST" and r.path.endswith("/fine_tuning/jobs")
                for r in emulator.requests()[marks[i] :]
            )
        ],
        timeout=60,
        what="the job creation to reach an emulator",
    )
    served_by = served[0]
    stack.host.kill()
    for emulator in pool:
        emulator.clear_faults()
    record = stored_run(stack, run)
    assert record is not None and record.job is None  # created, never recorded
    placed = record.account
    assert placed == pool[served_by].account_name

    stack.host.start()
    view = wait_for_state(stack, run, "succeeded", timeout=90)

    assert view["account"] == placed
    assert len(jobs_of_run(pool[served_by], run)) == 1
    assert jobs_of_run(pool[1 - served_by], run) == []
