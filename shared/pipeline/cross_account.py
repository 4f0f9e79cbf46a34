"""Deploying where there is room, in the tick: a trained run that waits for a deployment slot
on its own account is deployed on another account of the pool (DEPLOY_ACROSS_ACCOUNTS).

    elsewhere(runs)          runs whose deployment is recorded on another account, not created
                             yet: they ask that account, never their own, for a slot
    held_on(runs)            how many slots such runs hold on each account
    expire_gone(runs, ...)   a deployment on an account that left the settings: run expired
    deploy_where_there_is_room(work, pool, usage, services, now)
                             the tick's work, with runs that can deploy elsewhere admitted
                             there (the choice, `shared.runs.cross_account`, is recorded first)

The choice is recorded on the run (`DeploymentInfo.account`) and saved before the deployment
step runs, so a retried step asks the same account and finds the deployment it created there.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime

from shared.accounts import AccountSpec
from shared.errors import ConcurrentUpdate
from shared.pipeline.pool import AccountGone, AccountPool, account_of
from shared.pipeline.services import Services
from shared.runs.admission import AccountUsage, Admitted, Decision, Need, Waiting, need_of
from shared.runs.admission import reserved_by as reserved_by_runs
from shared.runs.config import default_config
from shared.runs.cross_account import DeployAsk, Target, can_host, choose
from shared.runs.deploy_choice import deployment_for
from shared.runs.names import deployment_name_for
from shared.runs.record import Run
from shared.runs.states import RunState

logger = logging.getLogger(__name__)

Work = tuple[Run, Services, Decision | None]


def enabled(services: Services) -> bool:
    settings = services.settings
    pool = services.accounts
    return (
        settings is not None
        and settings.capacity.deploy_across_accounts
        and pool is not None
        and len(pool.specs) > 1
    )


def elsewhere(runs: Sequence[Run], services: Services) -> dict[str, str]:
    """Run name -> the other account its deployment is recorded on, for deployments not
    created yet (their slot is asked of that account)."""
    found: dict[str, str] = {}
    for run in runs:
        deployment = run.deployment
        if deployment is None or deployment.created or deployment.account is None:
            continue
        if run.state is RunState.DEPLOYING and deployment.account != account_of(run, services):
            found[run.name] = deployment.account
    return found


def expire_gone(runs: Sequence[Run], pool: AccountPool, services: Services, now: datetime) -> None:
    """A deploying or deployed run whose deployment's account left AZURE_OPENAI_ACCOUNTS is
    moved to expired with the reason (its model is kept and can be deployed again); the
    deployment there is left as it is, since Tunedrop can no longer reach it."""
    for run in runs:
        deployment = run.deployment
        if deployment is None or deployment.account is None or deployment.deleted_at is not None:
            continue
        if run.state not in (RunState.DEPLOYING, RunState.DEPLOYED):
            continue
        if pool.spec(deployment.account) is not None:
            continue
        run.deployment_failed(
            f"its deployment's account {deployment.account!r} is no longer in "
            f"AZURE_OPENAI_ACCOUNTS ({', '.join(pool.names)}); deployment {deployment.name!r} "
            "there is left as it is",
            now,
        )
        try:
            services.runs.save(run)
        except ConcurrentUpdate:
            logger.info("Run %s changed; its deployment's missing account waits a tick", run.name)


def held_on(runs: Sequence[Run], services: Services) -> Counter[str]:
    """Deployment slots that runs recorded on another account hold there, not created yet."""
    return Counter(elsewhere(runs, services).values())


def deploy_where_there_is_room(
    work: list[Work],
    pool: AccountPool,
    usage: Callable[[str], AccountUsage | None],
    services: Services,
    now: datetime,
) -> list[Work]:
    """`work` with each run that waits for a deployment slot at home and fits on another
    account recorded there and admitted. Unchanged when DEPLOY_ACROSS_ACCOUNTS is off."""
    if not enabled(services):
        return work
    policy = services.policy
    waiting = [
        (run, account)
        for run, account, decision in work
        if isinstance(decision, Waiting) and decision.need is Need.DEPLOYMENT
    ]
    if not waiting:
        return work
    asks = []
    for run, _ in waiting:
        request = need_of(run, now, policy)
        home = account_of(run, services)
        if request is None or home is None:
            continue
        model = (run.config or default_config(policy.defaults)).model
        asks.append(DeployAsk(run.name, request.ready_at, home, model))
    away = elsewhere([run for run, _, _ in work], services)
    held = Counter(away.values())
    # Only accounts that could take one of these runs are counted (three list calls each).
    targets = [
        _target(spec.name, work, pool, usage, held, away, now)
        for spec in pool.specs
        if any(spec.name != ask.home and can_host(spec, ask.model) for ask in asks)
    ]
    chosen = choose(asks, targets)
    if not chosen:
        return work
    moved: set[str] = set()
    for run, account in waiting:
        target = chosen.get(run.name)
        if target is not None and _record(run, account, target, now):
            moved.add(run.name)
    return [
        (run, account, Admitted() if run.name in moved else decision)
        for run, account, decision in work
    ]


def _target(
    name: str,
    work: list[Work],
    pool: AccountPool,
    usage: Callable[[str], AccountUsage | None],
    held: Counter[str],
    away: dict[str, str],
    now: datetime,
) -> Target:
    """Account `name` as a place to deploy: its free slots as admission counts them (what is
    on it, what its admitted runs will still create, the slots held by runs recorded there)."""
    account = pool.services_for(name)
    spec = account_spec(pool, name)
    members = [
        (run, decision)
        for run, services, decision in work
        if services is account and run.name not in away
    ]
    runs = [run for run, _ in members]
    counted = usage(name)
    if counted is None:
        return Target(spec, None, len(runs))
    asking = {run.name: q for run in runs if (q := need_of(run, now, account.policy))}
    in_use = counted.deployments + held[name] + reserved_by_runs(runs, asking).deployments
    in_use += sum(
        1
        for run, decision in members
        if isinstance(decision, Admitted)
        and (q := asking.get(run.name)) is not None
        and q.need is Need.DEPLOYMENT
    )
    free = account.policy.limits.deployments - in_use
    return Target(spec, free, sum(1 for run in runs if run.is_active))


def account_spec(pool: AccountPool, name: str) -> AccountSpec:
    spec = pool.spec(name)
    if spec is None:
        raise AccountGone(f"account {name!r} is not in AZURE_OPENAI_ACCOUNTS")
    return spec


def _record(run: Run, account: Services, target: str, now: datetime) -> bool:
    """Records that `run` deploys on `target`, and saves it; False when another writer saved
    first (the run asks again next tick)."""
    home = run.account
    why = f"account {home} has no free deployment slot"
    if run.deployment is None:
        if run.job is None:
            return False
        deploy = (run.config or default_config(account.policy.defaults)).deploy
        name = deploy.name or deployment_name_for(run.name)
        info = deployment_for(name, deploy, run.job, now)
        info.account = target
        chosen = f": {info.chosen_because}" if info.chosen_because else ""
        run.deployment_requested(
            info, now, f"deploying {info.model} as {name!r} on account {target} ({why}){chosen}"
        )
    else:
        run.deployment.account = target
        run.note(now, f"deployment {run.deployment.name!r} goes to account {target} ({why})")
    try:
        account.runs.save(run)
    except ConcurrentUpdate:
        logger.info("Run %s changed while choosing where to deploy; asks again", run.name)
        return False
    logger.info("Run %s deploys on account %s (%s)", run.name, target, why)
    return True
