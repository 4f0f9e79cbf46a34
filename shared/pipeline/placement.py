"""The tick's work with a pool: place new runs on accounts, then admit runs account by account.

    plan(runs, services, now)   each active run with the services of its account and its
                                admission decision, ready for `shared.pipeline.tick`

Each account is counted at most once per tick (three list calls), and only when some run
asks for room there or is being placed; the decision rule is `shared.runs.placement`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from shared.errors import ConcurrentUpdate, TunedropError
from shared.pipeline import capacity, cross_account
from shared.pipeline.pool import AccountPool, account_of
from shared.pipeline.services import Services
from shared.runs.admission import AccountUsage, Admitted, Decision, need_of, reserved_by
from shared.runs.config import default_config
from shared.runs.placement import AccountRoom, Ask, Placed, place
from shared.runs.plan import StartRun, next_step
from shared.runs.record import Run

logger = logging.getLogger(__name__)

Work = tuple[Run, Services, Decision | None]


def plan(runs: Sequence[Run], services: Services, now: datetime) -> list[Work]:
    pool = services.accounts
    if pool is None:
        gate = capacity.decide(runs, services, now)
        return [(run, services, gate.get(run.name)) for run in runs]
    counts = _Counts(pool)
    # A deployment on an account that left the settings: the run expires, saying so.
    cross_account.expire_gone(runs, pool, services, now)
    groups: dict[str, list[Run]] = defaultdict(list)
    unplaced: list[Run] = []
    for run in runs:
        name = account_of(run, services)
        if name is not None and pool.spec(name) is None:
            _fail_gone(run, services, now, name)
        elif name is not None:
            groups[name].append(run)
        elif isinstance(next_step(run, now, services.policy), StartRun):
            unplaced.append(run)
        else:
            groups[pool.first].append(run)  # waiting for files: no account needed yet
    for run, account in _place(unplaced, groups, pool, counts, services, now):
        groups[account].append(run)
    # A run whose deployment is recorded on another account asks that account, not its own
    # (DEPLOY_ACROSS_ACCOUNTS, shared.pipeline.cross_account): its slot counts there.
    away = cross_account.elsewhere(runs, services)
    held = cross_account.held_on(runs, services)
    work: list[Work] = []
    for name, members in groups.items():
        account = pool.services_for(name)
        local = [run for run in members if run.name not in away]
        gate = capacity.decide(
            local,
            account,
            now,
            counted=lambda n=name: counts.usage(n).plus(AccountUsage(deployments=held[n])),
        )
        work.extend(
            (run, account, Admitted() if run.name in away else gate.get(run.name))
            for run in members
        )
    return cross_account.deploy_where_there_is_room(work, pool, counts.usage_or_none, services, now)


class _Counts:
    """Each account's usage, counted on first need and kept for the tick (errors too)."""

    def __init__(self, pool: AccountPool) -> None:
        self._pool = pool
        self._usage: dict[str, AccountUsage | TunedropError] = {}

    def usage(self, name: str) -> AccountUsage:
        if name not in self._usage:
            try:
                self._usage[name] = capacity.account_usage(self._pool.services_for(name))
            except TunedropError as exc:
                self._usage[name] = exc
        found = self._usage[name]
        if isinstance(found, TunedropError):
            raise found
        return found

    def usage_or_none(self, name: str) -> AccountUsage | None:
        try:
            return self.usage(name)
        except TunedropError as exc:
            logger.warning("Could not count account %s; it takes no new runs now: %s", name, exc)
            return None


def _place(
    unplaced: list[Run],
    groups: dict[str, list[Run]],
    pool: AccountPool,
    counts: _Counts,
    services: Services,
    now: datetime,
) -> list[tuple[Run, str]]:
    if not unplaced:
        return []
    asks: dict[str, Ask] = {}
    for run in unplaced:
        request = need_of(run, now, services.policy)
        if request is None:
            continue
        config = run.config or default_config(services.policy.defaults)
        pinned = config.account
        if pinned is None and config.from_run:
            # Continuing a fine-tuned model: it lives on the parent run's account.
            parent = services.runs.find(config.from_run)
            pinned = parent.account if parent is not None else None
        asks[run.name] = Ask(request, config.model, config.training_type, pinned)
    rooms = []
    for spec in pool.specs:
        members = groups.get(spec.name, [])
        usage = counts.usage_or_none(spec.name)
        if usage is not None:
            asking = {r.name: q for r in members if (q := need_of(r, now, services.policy))}
            usage = usage.plus(reserved_by(members, asking))
        limits = pool.services_for(spec.name).policy.limits
        active = sum(1 for run in members if run.is_active)
        rooms.append(AccountRoom(spec, limits, usage, active))
    placed: list[tuple[Run, str]] = []
    by_name = {run.name: run for run in unplaced}
    for name, outcome in place(asks.values(), rooms).items():
        run = by_name[name]
        if isinstance(outcome, Placed):
            room = "with room now" if outcome.has_room else "waiting for room there"
            reason = f"placed on account {outcome.account} ({room})"
            run.placed_on(outcome.account, now, reason, announce=len(pool.specs) > 1)
        else:
            run.fail(outcome.reason, now)
        try:
            services.runs.save(run)
        except ConcurrentUpdate:
            logger.info("Run %s changed while being placed; placed on a later tick", name)
            continue
        if isinstance(outcome, Placed):
            logger.info("Run %s placed on account %s", name, outcome.account)
            placed.append((run, outcome.account))
    return placed


def _fail_gone(run: Run, services: Services, now: datetime, name: str) -> None:
    try:
        run.fail(_gone_reason(name, services), now)
        services.runs.save(run)
    except ConcurrentUpdate:
        logger.info("Run %s changed; its missing account is reported on a later tick", run.name)
    except TunedropError as exc:
        logger.warning("Run %s: could not record that its account left: %s", run.name, exc)


def _gone_reason(name: str, services: Services) -> str:
    pool = services.accounts
    names = ", ".join(pool.names) if pool is not None else ""
    return (
        f"its account {name!r} is no longer in AZURE_OPENAI_ACCOUNTS ({names}); Tunedrop "
        "cannot reach its job or deployment there, and leaves them as they are"
    )
