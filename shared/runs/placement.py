"""Placement: which account of the pool a run trains on. A pure rule, no I/O.

When a run is admitted (its `StartRun` step), its candidates are the accounts that can
fine-tune its model with its training type. The one with room now wins (room as admission
counts it, `shared.runs.admission`); ties go to the account with the fewest active runs, then
to the order of `AZURE_OPENAI_ACCOUNTS`. With no room anywhere the run still gets the best
candidate by that order and waits in its queue there. `run.json` `"account"` pins the run.

Runs asking in one tick are placed one after another in the order they became ready, each
counting the room the ones before it took, so four runs dropped at once spread over the pool.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from shared.accounts import AccountSpec
from shared.runs.admission import AccountUsage, RoomRequest, _shortage, _taking
from shared.runs.limits import AccountLimits


@dataclass(frozen=True)
class AccountRoom:
    """One account as placement sees it this tick."""

    spec: AccountSpec
    limits: AccountLimits
    usage: AccountUsage | None
    """What is on it plus what its admitted runs still hold; None: it could not be counted."""
    active_runs: int


@dataclass(frozen=True)
class Ask:
    """A run to place: its room request, model, training type and pinned account."""

    request: RoomRequest
    model: str
    training_type: str
    pinned: str | None = None


@dataclass(frozen=True)
class Placed:
    account: str
    has_room: bool


@dataclass(frozen=True)
class Unplaceable:
    reason: str


def place(asks: Iterable[Ask], accounts: Sequence[AccountRoom]) -> dict[str, Placed | Unplaceable]:
    """Where each run goes, in the order the runs became ready."""
    rooms = list(accounts)
    chosen: dict[str, Placed | Unplaceable] = {}
    for ask in sorted(asks, key=lambda item: (item.request.ready_at, item.request.run)):
        outcome = _place_one(ask, rooms)
        chosen[ask.request.run] = outcome
        if isinstance(outcome, Placed):
            index = next(i for i, room in enumerate(rooms) if room.spec.name == outcome.account)
            room = rooms[index]
            usage = room.usage
            if outcome.has_room and usage is not None:
                usage = usage.plus(_taking(ask.request))
            rooms[index] = replace(room, usage=usage, active_runs=room.active_runs + 1)
    return chosen


def _place_one(ask: Ask, rooms: Sequence[AccountRoom]) -> Placed | Unplaceable:
    names = [room.spec.name for room in rooms]
    if ask.pinned is not None:
        if ask.pinned not in names:
            return Unplaceable(
                f'run.json: "account" names {ask.pinned!r}, which is not an account of '
                f"AZURE_OPENAI_ACCOUNTS ({', '.join(names)})"
            )
        room = rooms[names.index(ask.pinned)]
        return Placed(room.spec.name, _has_room(ask, room))
    candidates = [
        (index, room)
        for index, room in enumerate(rooms)
        if room.spec.can_train(ask.model, ask.training_type)
    ]
    if not candidates:
        return Unplaceable(
            f"no account of the pool can fine-tune {ask.model} with training type "
            f"{ask.training_type} (accounts: {', '.join(names)})"
        )
    _, best = min(
        candidates,
        key=lambda pair: (not _has_room(ask, pair[1]), pair[1].active_runs, pair[0]),
    )
    return Placed(best.spec.name, _has_room(ask, best))


def _has_room(ask: Ask, room: AccountRoom) -> bool:
    return room.usage is not None and _shortage(ask.request, room.usage, room.limits) is None
