"""The tick with a pool: runs go to accounts with room and stay there; a run whose account left
the settings fails with the reason; run.json may pin an account."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from shared.accounts import AccountSpec
from shared.pipeline.pool import AccountPool, RoutedModelCalls
from shared.pipeline.services import Services
from shared.runs.config import RunDefaults, parse_run_config
from shared.runs.limits import AccountLimits
from shared.runs.states import RunState
from tests.pipeline.data import TRAIN, VALIDATION
from tests.pipeline.fakes import FakeDeployments, FakeFineTuning, fake_services
from tests.pipeline.helpers import drop, tick, tick_until

S = RunState
ONE_JOB = AccountLimits(running_jobs=1, queued_jobs=0)


def pool_of(names: list[str], accounts: dict[str, Services] | None = None) -> Any:
    base = fake_services()
    base = replace(base, policy=replace(base.policy, limits=ONE_JOB))
    accounts = accounts or {
        name: replace(base, fine_tuning=FakeFineTuning(), deployments=FakeDeployments())
        for name in names
    }
    specs = [AccountSpec(n, f"https://{n}.example", "sub", "rg", n) for n in names]
    pool = AccountPool(specs, lambda spec: accounts[spec.name])
    return replace(base, accounts=pool), accounts


def start(services: Services, run: str, config: bytes | None = None) -> None:
    if config is not None:
        drop(services, f"{run}/run.json", config)
    drop(services, f"{run}/train.jsonl", TRAIN)
    drop(services, f"{run}/validation.jsonl", VALIDATION)


def jobs_on(account: Services) -> int:
    return len(account.fine_tuning.list_jobs())


def test_two_runs_on_a_pool_of_one_job_accounts_train_one_on_each() -> None:
    services, accounts = pool_of(["a", "b"])
    start(services, "kitsune")
    start(services, "tanuki")
    for _ in range(10):
        tick(services)
    assert all(services.runs.get(run).job is not None for run in ("kitsune", "tanuki"))
    placed = {services.runs.get(run).account for run in ("kitsune", "tanuki")}
    assert placed == {"a", "b"}
    assert jobs_on(accounts["a"]) == 1 and jobs_on(accounts["b"]) == 1


def test_a_run_whose_account_left_the_settings_fails_naming_it() -> None:
    services, accounts = pool_of(["a", "b"])
    start(services, "kitsune", b'{"account": "b"}')
    tick_until(services, "kitsune", S.RUNNING)
    assert services.runs.get("kitsune").account == "b"

    shrunk, _ = pool_of(["a"], accounts)
    shrunk = replace(services, accounts=shrunk.accounts)
    tick(shrunk)

    run = shrunk.runs.get("kitsune")
    assert run.state is S.FAILED
    assert "'b' is no longer in AZURE_OPENAI_ACCOUNTS" in (run.failure_reason or "")


def test_run_json_takes_an_account_name_and_refuses_a_malformed_one() -> None:
    defaults = RunDefaults("gpt-4o-mini-2024-07-18")
    assert parse_run_config(b'{"account": "east-1"}', defaults).account == "east-1"
    try:
        parse_run_config(b'{"account": ["east-1"]}', defaults)
    except Exception as exc:  # InvalidRunConfig, naming the field
        assert '"account"' in str(exc)
    else:
        raise AssertionError("a list is not an account name")


class Calls:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def ask(self, deployment: str, *args: Any, **kwargs: Any) -> str:
        self.asked.append(deployment)
        return deployment


def test_a_pool_accounts_evaluation_asks_the_grader_and_base_on_the_first_account() -> None:
    own, home = Calls(), Calls()
    routed = RoutedModelCalls(own, home, frozenset({"grader", "base"}))
    for deployment in ("tunedrop-kitsune", "grader", "base"):
        routed.ask(deployment, [], max_tokens=1, seed=0)
    assert own.asked == ["tunedrop-kitsune"] and home.asked == ["grader", "base"]
