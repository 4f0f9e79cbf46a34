"""The pool of accounts at run time: each account's adapters, built on first use.

    AccountPool(specs, build)        `build(spec)` makes the `Services` of one account
    pool.services_for(name)          that account's services (upload, jobs, deployments, chat,
                                     model list, evaluation), cached for the process
    services_of(run, services)       the services every step of `run` uses: its account's

Storage (runs, inbox, reports) is the same for every account; only what talks to Azure OpenAI
and ARM differs. Hand-built services (tests) have no pool: every run uses them as they are.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from shared.accounts import AccountSpec
from shared.errors import TunedropError
from shared.pipeline.services import Services
from shared.runs.record import Run


class AccountGone(TunedropError):
    """The run's account is no longer in AZURE_OPENAI_ACCOUNTS."""


class AccountPool:
    """The accounts of AZURE_OPENAI_ACCOUNTS (or the pool of one), each account's services
    built lazily by `build`, so an app with fifty accounts builds only those its runs use."""

    def __init__(
        self, specs: Sequence[AccountSpec], build: Callable[[AccountSpec], Services]
    ) -> None:
        self.specs = tuple(specs)
        self._build = build
        self._built: dict[str, Services] = {}
        self._lock = threading.Lock()

    @property
    def names(self) -> list[str]:
        return [spec.name for spec in self.specs]

    @property
    def first(self) -> str:
        return self.specs[0].name

    def spec(self, name: str) -> AccountSpec | None:
        return next((spec for spec in self.specs if spec.name == name), None)

    def services_for(self, name: str) -> Services:
        """The services of account `name`; raises `AccountGone` when it is not in the pool."""
        spec = self.spec(name)
        if spec is None:
            raise AccountGone(
                f"its account {name!r} is no longer in AZURE_OPENAI_ACCOUNTS "
                f"({', '.join(self.names)}); its job and deployment there are left as they are"
            )
        with self._lock:
            built = self._built.get(name)
            if built is None:
                built = replace(self._build(spec), accounts=self)
                self._built[name] = built
            return built


def account_of(run: Run, services: Services) -> str | None:
    """The account `run` uses: the one it was placed on; a record from before the pool, already
    started, uses the first account. None: no pool, or not placed yet."""
    pool = services.accounts
    if pool is None:
        return None
    if run.account is not None:
        return run.account
    return None if run.state.value == "waiting_for_files" else pool.first


def services_of(run: Run, services: Services) -> Services:
    """The services `run`'s steps use (raises `AccountGone` for an account left the settings)."""
    return services_on(account_of(run, services), services)


def services_on(account: str | None, services: Services) -> Services:
    """The services of pool account `account`; `services` themselves without a pool or an
    account (raises `AccountGone` for an account left the settings)."""
    pool = services.accounts
    if pool is None or account is None:
        return services
    return pool.services_for(account)


class RoutedModelCalls:
    """The evaluation's model calls for a pool account: the run's tuned deployment is asked on
    its account, the grader and the base model on the first account, which holds them."""

    def __init__(self, own: Any, home: Any, home_deployments: frozenset[str]) -> None:
        self._own, self._home, self._home_deployments = own, home, home_deployments

    def ask(self, deployment: str, *args: Any, **kwargs: Any) -> Any:
        target = self._home if deployment in self._home_deployments else self._own
        return target.ask(deployment, *args, **kwargs)


def with_home_evaluation(account: Services, home: Services) -> Services:
    """`account`'s services, grading and comparing with `home`'s grader and base deployments."""
    own, first = account.evaluation, home.evaluation
    if own is None or first is None or account is home:
        return account
    settings = own.settings
    names = frozenset(n for n in (settings.grader_deployment, settings.base_deployment) if n)
    routed = RoutedModelCalls(own.models, first.models, names)
    return replace(account, evaluation=replace(own, models=routed))


def deployment_services(run: Run, services: Services) -> Services:
    """The services that reach `run`'s deployment: its account's, or, for a model deployed on
    another account of the pool (`DeploymentInfo.account`), that account's. Every step that
    touches the deployment (create, read-back, probe, chat, evaluation, check, teardown) uses
    these, so a retried step finds what it created there. Raises `AccountGone` for an account
    that left the settings."""
    where = run.deployment.account if run.deployment is not None else None
    if where is None or where == account_of(run, services):
        return services_of(run, services)
    return services_on(where, services)


def deployment_source(run: Run, services: Services) -> str | None:
    """The ARM id of the account that trained `run`'s model when it is deployed on another
    account (the deployment body's `properties.model.source`); None when deployed at home."""
    pool = services.accounts
    home = account_of(run, services)
    where = run.deployment.account if run.deployment is not None else None
    if pool is None or home is None or where is None or where == home:
        return None
    spec = pool.spec(home)
    if spec is None:
        return None
    return (
        f"/subscriptions/{spec.subscription}/resourceGroups/{spec.resource_group}"
        f"/providers/Microsoft.CognitiveServices/accounts/{spec.account}"
    )
