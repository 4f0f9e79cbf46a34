"""Deploying where there is room (DEPLOY_ACROSS_ACCOUNTS): the pure rule, the setting, the
record, and the tick with a pool of fake accounts that each hold one deployment."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.accounts import AccountSpec
from shared.errors import SettingsError, TransientServiceError
from shared.pipeline.pool import AccountPool
from shared.pipeline.services import Services
from shared.runs.codec import run_from_dict, run_to_dict
from shared.runs.cross_account import DeployAsk, Target, choose
from shared.runs.limits import AccountLimits
from shared.runs.states import RunState
from shared.settings import Settings
from tests.accounts.test_pool_setting import BASE
from tests.pipeline.data import TRAIN, VALIDATION
from tests.pipeline.fakes import FakeDeployments, FakeFineTuning, fake_services
from tests.pipeline.helpers import drop, tick, tick_until

S = RunState
T0 = datetime(2026, 5, 4, 12, tzinfo=UTC)


def target(name: str, free: int | None = 1, active: int = 0, models: Any = None) -> Target:
    return Target(
        AccountSpec(name, f"https://{name}", "sub", "rg", name, models=models), free, active
    )


def wants(run: str, at: int = 0, home: str = "home", model: str = "m") -> DeployAsk:
    return DeployAsk(run, T0 + timedelta(seconds=at), home, model)


@pytest.mark.parametrize(
    ("targets", "expected"),
    [
        # an account with a free slot takes it
        ([target("home", free=0), target("b")], {"r": "b"}),
        # no free slot anywhere else: the run keeps waiting at home
        ([target("home", free=0), target("b", free=0)], {}),
        # never its own account (its wait is admission's business)
        ([target("home", free=3)], {}),
        # the fewest active runs, then list order
        ([target("b", active=2), target("c", active=1)], {"r": "c"}),
        ([target("b", active=1), target("c", active=1)], {"r": "b"}),
        # an account that cannot fine-tune the model is no destination (the docs: the new
        # region must also support fine-tuning); one whose entry lists no models may be
        ([target("b", models={"other": []}), target("c", active=9)], {"r": "c"}),
        ([target("b", models={"m": ["global"]})], {"r": "b"}),
        # an account that could not be counted takes nothing
        ([target("b", free=None), target("c", active=5)], {"r": "c"}),
    ],
)
def test_a_waiting_run_goes_to_a_fitting_account_with_room_by_active_runs_then_order(
    targets: list[Target], expected: dict[str, str]
) -> None:
    assert choose([wants("r")], targets) == expected


def test_runs_are_served_in_ready_order_each_taking_a_slot() -> None:
    chosen = choose(
        [wants("late", 5), wants("early", 0), wants("middle", 2)],
        [target("b", free=1), target("c", free=1, active=1)],
    )
    assert chosen == {"early": "b", "middle": "c"}


def test_the_setting_is_off_by_default_and_refuses_what_is_not_a_boolean() -> None:
    assert Settings.from_env(BASE).capacity.deploy_across_accounts is False
    on = Settings.from_env({**BASE, "DEPLOY_ACROSS_ACCOUNTS": "true"})
    assert on.capacity.deploy_across_accounts is True
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({**BASE, "DEPLOY_ACROSS_ACCOUNTS": "sometimes"})
    assert "DEPLOY_ACROSS_ACCOUNTS must be true or false, not 'sometimes'" in str(refused.value)


# -- the tick ------------------------------------------------------------------------------------

ONE_DEPLOYMENT = AccountLimits(running_jobs=2, queued_jobs=0, deployments=1)
PINNED_TO_A = b'{"account": "a"}'


class LostAnswerDeployments(FakeDeployments):
    """Creates the deployment, then loses the answer once (the host never hears of it)."""

    def __init__(self) -> None:
        super().__init__()
        self.lost = 1

    def create(self, *args: Any, **kwargs: Any) -> Any:
        created = super().create(*args, **kwargs)
        if self.lost:
            self.lost -= 1
            raise TransientServiceError("the answer was lost")
        return created


def pool_of_two(across: bool, b_deployments: FakeDeployments | None = None) -> Any:
    base = fake_services()
    base = replace(base, policy=replace(base.policy, limits=ONE_DEPLOYMENT))
    accounts = {
        "a": replace(base, fine_tuning=FakeFineTuning(), deployments=FakeDeployments()),
        "b": replace(
            base, fine_tuning=FakeFineTuning(), deployments=b_deployments or FakeDeployments()
        ),
    }
    specs = [AccountSpec(n, f"https://{n}.example", "sub", f"rg-{n}", f"acct-{n}") for n in "ab"]
    settings = Settings.from_env({**BASE, "DEPLOY_ACROSS_ACCOUNTS": str(across).lower()})
    pool = AccountPool(specs, lambda spec: accounts[spec.name])
    return replace(base, accounts=pool, settings=settings), accounts


def start_pinned(services: Services, *runs: str) -> None:
    for run in runs:
        drop(services, f"{run}/run.json", PINNED_TO_A)
        drop(services, f"{run}/train.jsonl", TRAIN)
        drop(services, f"{run}/validation.jsonl", VALIDATION)


def test_with_the_setting_the_second_run_deploys_on_the_other_account_naming_its_source() -> None:
    services, accounts = pool_of_two(across=True)
    start_pinned(services, "kitsune", "tanuki")

    for run in ("kitsune", "tanuki"):
        tick_until(services, run, S.DEPLOYED)

    where = {run: services.runs.get(run).deployment.account for run in ("kitsune", "tanuki")}
    moved = next(run for run, account in where.items() if account == "b")
    stayed = next(run for run in where if run != moved)
    assert where[stayed] is None  # deployed at home
    name = services.runs.get(moved).deployment.name
    assert (
        accounts["b"].deployments.creates[name] == 1
        and name not in accounts["a"].deployments.creates
    )
    assert accounts["b"].deployments.sources[name] == (
        "/subscriptions/sub/resourceGroups/rg-a/providers/Microsoft.CognitiveServices/accounts/acct-a"
    )
    assert accounts["a"].deployments.sources[services.runs.get(stayed).deployment.name] is None
    assert services.runs.get(moved).account == "a"  # it trained there, and stays placed there


def test_without_the_setting_the_second_run_waits_for_a_slot_at_home() -> None:
    services, accounts = pool_of_two(across=False)
    start_pinned(services, "kitsune", "tanuki")

    for _ in range(40):
        tick(services)

    states = sorted(services.runs.get(run).state for run in ("kitsune", "tanuki"))
    assert states == [S.DEPLOYED, S.SUCCEEDED]
    waiting = next(
        services.runs.get(r) for r in ("kitsune", "tanuki") if services.runs.get(r).capacity_wait
    )
    assert "deployment slot" in waiting.capacity_wait.reason
    assert not accounts["b"].deployments.creates


def test_a_retried_deploy_finds_what_it_created_on_the_other_account() -> None:
    services, accounts = pool_of_two(across=True, b_deployments=LostAnswerDeployments())
    start_pinned(services, "kitsune", "tanuki")

    for run in ("kitsune", "tanuki"):
        tick_until(services, run, S.DEPLOYED)

    b = accounts["b"].deployments
    assert b.lost == 0  # the answer was lost once
    (name,) = b.creates
    assert b.creates[name] == 1  # found again on the retry, never created twice
    assert name not in accounts["a"].deployments.creates
    moved = next(r for r in ("kitsune", "tanuki") if services.runs.get(r).deployment.name == name)
    assert services.runs.get(moved).deployment.created_by_tunedrop


def test_a_record_from_before_the_deployment_account_existed_still_loads() -> None:
    services, _ = pool_of_two(across=True)
    start_pinned(services, "kitsune")
    tick_until(services, "kitsune", S.DEPLOYED)
    data = run_to_dict(services.runs.get("kitsune"))
    del data["deployment"]["account"]

    old = run_from_dict(data)

    assert old.deployment is not None and old.deployment.account is None
    assert run_from_dict(run_to_dict(old)) == old


def test_a_deployment_whose_account_left_the_settings_expires_the_run_naming_it() -> None:
    services, accounts = pool_of_two(across=True)
    start_pinned(services, "kitsune", "tanuki")
    for run in ("kitsune", "tanuki"):
        tick_until(services, run, S.DEPLOYED)
    moved = next(r for r in ("kitsune", "tanuki") if services.runs.get(r).deployment.account)
    only_a = AccountPool([services.accounts.specs[0]], lambda spec: accounts[spec.name])
    services = replace(services, accounts=only_a)

    tick(services)

    run = services.runs.get(moved)
    assert run.state is S.EXPIRED
    assert "its deployment's account 'b' is no longer in AZURE_OPENAI_ACCOUNTS" in (
        run.deployment.error or ""
    )
    assert not accounts["b"].deployments.deletes  # unreachable now: left as it is
