"""Deploying where there is room: which other account of the pool takes a trained run's
deployment when the run's own account has no free deployment slot. A pure rule, no I/O.

Azure OpenAI deploys a fine-tuned model on another resource, in another region or another
subscription of the same tenant, when the deployment's ARM PUT on the destination resource
names the resource that trained it (`properties.model.source`, its ARM id); "the new region
must also support fine-tuning" (the fine-tuning deploy page, "Cross region deployment",
MicrosoftDocs/azure-ai-docs `articles/foundry/openai/how-to/fine-tuning-deploy.md`). With
DEPLOY_ACROSS_ACCOUNTS on, a run that waits for a deployment slot on its account goes to
another account when:

1. the other account can fine-tune the run's model: its pool entry lists the model under
   `models`, or has no `models` at all (as placement assumes);
2. it has a free deployment slot now (counted as admission counts it, `shared.runs.admission`);
3. ties go to the account with the fewest active runs, then to the order of the pool.

Runs are served in the order they became ready, each counting the slot the ones before it took.
A run no account can take waits on its own account as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from shared.accounts import AccountSpec


@dataclass(frozen=True)
class Target:
    """One account of the pool as a place to deploy, this tick."""

    spec: AccountSpec
    free_slots: int | None
    """Deployment slots free now; None: the account could not be counted (it takes none)."""
    active_runs: int


@dataclass(frozen=True)
class DeployAsk:
    """A trained run waiting for a deployment slot on its own account (`home`)."""

    run: str
    ready_at: datetime
    home: str
    model: str
    """The model the run fine-tuned (run.json `model`)."""


def can_host(spec: AccountSpec, model: str) -> bool:
    """True when cross-region deployment applies to `spec` for a model fine-tuned from `model`:
    the destination must support fine-tuning (the pool entry says which models it can)."""
    return spec.models is None or model in spec.models


def choose(asks: Iterable[DeployAsk], targets: Sequence[Target]) -> dict[str, str]:
    """The account each run deploys on instead of its own; runs left out keep waiting."""
    rooms = list(targets)
    chosen: dict[str, str] = {}
    for ask in sorted(asks, key=lambda item: (item.ready_at, item.run)):
        candidates = [
            (index, room)
            for index, room in enumerate(rooms)
            if room.spec.name != ask.home
            and (room.free_slots or 0) > 0
            and can_host(room.spec, ask.model)
        ]
        if not candidates:
            continue
        index, best = min(candidates, key=lambda pair: (pair[1].active_runs, pair[0]))
        chosen[ask.run] = best.spec.name
        rooms[index] = replace(
            best, free_slots=(best.free_slots or 0) - 1, active_runs=best.active_runs + 1
        )
    return chosen
