"""Deploy where there is room (DEPLOY_ACROSS_ACCOUNTS): two emulated accounts, each allowing
one deployment; two runs pinned to the first both train there. With the setting on, the one
that finds the first account's slot taken is deployed on the second account, whose ARM PUT
names the first as the model's source; its view names where it went, its chat is answered
there, and its teardown deletes it there. With the setting off, it waits for the slot."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from localdev.emulator import Emulator
from localdev.pool import link_accounts
from tests.e2e.fault_helpers import (
    jobs_of_run,
    log_mark,
    run_view,
    unique,
    wait_all,
    wait_for_state,
    wait_until,
)
from tests.e2e.pipeline_helpers import TRAIN_PAIRS, Drops, ask, run_json
from tests.e2e.stack import Stack
from tests.e2e.test_account_pool import pool, pool_drops, pool_stack  # noqa: F401 - fixtures

pytestmark = pytest.mark.e2e


def _calls(emulator: Emulator, since: int, method: str, path_end: str) -> list[Any]:
    return [
        r for r in emulator.requests()[since:] if r.method == method and r.path.endswith(path_end)
    ]


def test_a_run_whose_account_has_no_free_slot_deploys_on_the_other_account(
    pool_stack: Callable[..., Stack],  # noqa: F811
    pool: list[Emulator],  # noqa: F811
    pool_drops: Drops,  # noqa: F811
) -> None:
    link_accounts(pool)
    stack = pool_stack(DEPLOY_ACROSS_ACCOUNTS="true")
    home, other = (emulator.account_name for emulator in pool)
    runs = [unique(f"across{n}") for n in range(2)]
    for run in runs:
        pool_drops.drop_run(stack, run, config=run_json(account=home))

    views = wait_all(stack, runs, "deployed", timeout=180)

    where = {run: view["deployment"]["account"] for run, view in views.items()}
    assert sorted(where.values()) == sorted([home, other]), where
    for run in runs:  # both trained on their own account, one job each
        assert views[run]["account"] == home
        assert len(jobs_of_run(pool[0], run)) == 1 and jobs_of_run(pool[1], run) == []
    moved = next(run for run in runs if where[run] == other)
    name = views[moved]["deployment"]["name"]
    assert _calls(pool[1], 0, "PUT", f"/deployments/{name}")  # created on the other account
    assert not _calls(pool[0], 0, "PUT", f"/deployments/{name}")

    since = [log_mark(emulator) for emulator in pool]
    question, trained_answer = TRAIN_PAIRS[0]
    assert ask(stack, moved, question)["reply"] == trained_answer  # it learnt on the first
    chats = [
        _calls(emulator, mark, "POST", "/chat/completions")
        for emulator, mark in zip(pool, since, strict=True)
    ]
    assert len(chats[1]) == 1 and chats[0] == [], chats
    # The run list, the run page and the deployed event name where the model went.
    status, page, _ = stack.call("GET", "/api/runs")
    assert status == 200
    listed = {item["name"]: item for item in page["runs"]}
    assert {run: listed[run]["deployment_account"] for run in runs} == where
    assert {listed[run]["account"] for run in runs} == {home}
    status, html, _ = stack.call("GET", f"/api/runs/{moved}/view")
    section = html.decode().split('<div id="deployment">', 1)[1].split("</div>", 1)[0]
    assert status == 200 and f"<dt>Account</dt><dd>{other}</dd>" in section
    status, events, _ = stack.call("GET", f"/api/runs/{moved}/events")
    assert status == 200
    kinds = {event["type"]: event["payload"]["data"] for event in events["events"]}
    assert kinds["tunedrop.run.deployed"]["deployment"]["account"] == other

    status, _, _ = stack.call("DELETE", f"/api/runs/{moved}/deployment")
    assert status == 202
    view = wait_for_state(stack, moved, "expired", timeout=60)

    assert view["deployment"]["account"] == other
    assert _calls(pool[1], since[1], "DELETE", f"/deployments/{name}")
    assert not _calls(pool[0], since[0], "DELETE", f"/deployments/{name}")


def test_without_the_setting_a_run_waits_for_a_slot_on_its_own_account(
    pool_stack: Callable[..., Stack],  # noqa: F811
    pool: list[Emulator],  # noqa: F811
    pool_drops: Drops,  # noqa: F811
) -> None:
    link_accounts(pool)
    stack = pool_stack()  # DEPLOY_ACROSS_ACCOUNTS left out: off
    home = pool[0].account_name
    runs = [unique(f"athome{n}") for n in range(2)]
    for run in runs:
        pool_drops.drop_run(stack, run, config=run_json(account=home))

    def one_deployed_one_waiting() -> dict[str, Any] | None:
        views = {run: run_view(stack, run) or {} for run in runs}
        assert all(view.get("state") != "failed" for view in views.values()), views
        states = sorted(view.get("state", "") for view in views.values())
        waiting = [view for view in views.values() if view.get("waiting")]
        if states == ["deployed", "succeeded"] and waiting:
            return waiting[0]
        return None

    view = wait_until(one_deployed_one_waiting, timeout=180, what="one deployed, one waiting")

    assert view["waiting"]["for"] == "deployment" and view["deployment"] is None
    assert "deployment slot" in view["waiting"]["reason"]
    assert not [r for r in pool[1].requests() if r.method == "PUT" and "/deployments/" in r.path]
