"""Placement: room wins, then the fewest active runs, then list order; a pin wins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.accounts import AccountSpec
from shared.runs.admission import AccountUsage, Need, RoomRequest
from shared.runs.limits import AccountLimits
from shared.runs.placement import AccountRoom, Ask, Placed, Unplaceable, place

T0 = datetime(2026, 5, 4, 12, tzinfo=UTC)
ONE_JOB = AccountLimits(running_jobs=1, queued_jobs=0)


def room(name: str, jobs: int = 0, active: int = 0, models: dict | None = None) -> AccountRoom:
    spec = AccountSpec(name, f"https://{name}", "sub", "rg", name, models=models)
    return AccountRoom(spec, ONE_JOB, AccountUsage(active_jobs=jobs, total_jobs=jobs), active)


def ask(run: str, at: int = 0, model: str = "m", pinned: str | None = None) -> Ask:
    request = RoomRequest(run, Need.TRAINING, T0 + timedelta(seconds=at), files=1)
    return Ask(request, model, "standard", pinned)


@pytest.mark.parametrize(
    ("rooms", "expected"),
    [
        # room now wins, even over fewer active runs
        ([room("a", jobs=1), room("b", active=5)], Placed("b", True)),
        # both have room: the fewest active runs
        ([room("a", active=2), room("b", active=1)], Placed("b", True)),
        # a tie: list order
        ([room("a", active=1), room("b", active=1)], Placed("a", True)),
        # no room anywhere: the fewest active runs, and it waits there
        ([room("a", jobs=1, active=3), room("b", jobs=1, active=2)], Placed("b", False)),
        # only accounts that can fine-tune the model are candidates
        ([room("a", models={"other": []}), room("b", jobs=1)], Placed("b", False)),
        # an account that could not be counted has no room
        ([AccountRoom(room("a").spec, ONE_JOB, None, 0), room("b", active=4)], Placed("b", True)),
    ],
)
def test_one_run_is_placed_by_room_then_active_runs_then_order(
    rooms: list[AccountRoom], expected: Placed
) -> None:
    assert place([ask("r")], rooms) == {"r": expected}


def test_runs_asking_at_once_spread_over_the_pool_in_ready_order() -> None:
    chosen = place([ask("d", 3), ask("b", 1), ask("a", 0), ask("c", 2)], [room("x"), room("y")])
    assert chosen == {
        "a": Placed("x", True),
        "b": Placed("y", True),
        "c": Placed("x", False),
        "d": Placed("y", False),
    }


def test_a_pin_wins_over_room_and_a_pin_outside_the_pool_is_refused() -> None:
    rooms = [room("a"), room("b", jobs=1)]
    assert place([ask("r", pinned="b")], rooms) == {"r": Placed("b", False)}
    (outcome,) = place([ask("r", pinned="gone")], rooms).values()
    assert isinstance(outcome, Unplaceable) and "'gone'" in outcome.reason


def test_a_model_no_account_trains_is_refused_naming_the_model() -> None:
    (outcome,) = place([ask("r", model="gpt-x")], [room("a", models={"m": []})]).values()
    assert isinstance(outcome, Unplaceable) and "gpt-x" in outcome.reason
