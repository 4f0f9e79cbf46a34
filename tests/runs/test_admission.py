"""The admission rule: which runs get room on a shared account, in which order, and why the
others wait. Table-driven: each row is an account, the runs asking, and what each is told."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.runs.admission import (
    AccountUsage,
    Admitted,
    Need,
    RoomRequest,
    Waiting,
    admit,
)
from shared.runs.limits import AccountLimits

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
TIGHT = AccountLimits(running_jobs=1, queued_jobs=1, total_jobs=100, deployments=2, files=6)


def training(run: str, minute: int, files: int = 3, size: int = 1000) -> RoomRequest:
    return RoomRequest(run, Need.TRAINING, T0 + timedelta(minutes=minute), files, size)


def deployment(run: str, minute: int) -> RoomRequest:
    return RoomRequest(run, Need.DEPLOYMENT, T0 + timedelta(minutes=minute))


ADMIT = "admitted"
CASES = [
    pytest.param(
        AccountUsage(),
        [training("a", 0), training("b", 1), training("c", 2)],
        {
            "a": ADMIT,
            "b": ADMIT,
            "c": "waiting for a job slot: 2 of 2 queued and running jobs, 0 runs ahead",
        },
        id="job slots: running plus queued, the third waits",
    ),
    pytest.param(
        AccountUsage(),
        [training("late", 5), training("early", 1), training("middle", 3)],
        {
            "early": ADMIT,
            "middle": ADMIT,
            "late": "waiting for a job slot: 2 of 2 queued and running jobs, 0 runs ahead",
        },
        id="served in the order runs became ready, not the order they are listed",
    ),
    pytest.param(
        AccountUsage(files=5, file_bytes=10, active_jobs=0, total_jobs=7),
        [training("a", 0), training("b", 1)],
        {
            "a": "waiting for room for its files: 5 of 6 files in use, 0 runs ahead",
            "b": "waiting for room for its files: 5 of 6 files in use, 1 run ahead",
        },
        id="another tool's files count, and no run overtakes one waiting before it",
    ),
    pytest.param(
        AccountUsage(files=0, file_bytes=1000),
        [training("big", 0, size=2000), training("small", 1, size=1)],
        {
            "big": "waiting for room for its files: 1,000 of 2,500 bytes in use, 0 runs ahead",
            "small": "waiting for room for its files: 1,000 of 2,500 bytes in use, 1 run ahead",
        },
        id="bytes: a big run is not starved by small ones behind it",
    ),
    pytest.param(
        AccountUsage(total_jobs=100),
        [training("a", 0)],
        {
            "a": "waiting for a job slot: 100 of 100 jobs held by the account "
            "(delete finished jobs to free some), 0 runs ahead"
        },
        id="jobs held in all",
    ),
    pytest.param(
        AccountUsage(deployments=1),
        [deployment("a", 0), deployment("b", 1), deployment("c", 2)],
        {
            "a": ADMIT,
            "b": "waiting for a deployment slot: 2 of 2 in use, 0 runs ahead",
            "c": "waiting for a deployment slot: 2 of 2 in use, 1 run ahead",
        },
        id="deployment slots: another tool's deployment counts",
    ),
    pytest.param(
        AccountUsage(active_jobs=2, deployments=0),
        [training("t", 0), deployment("d", 1)],
        {"t": "waiting for a job slot: 2 of 2 queued and running jobs, 0 runs ahead", "d": ADMIT},
        id="a run waiting for a job does not hold back a run waiting to deploy",
    ),
    pytest.param(
        AccountUsage(),
        [training("b", 0), training("a", 0), training("c", 0)],
        {
            "a": ADMIT,
            "b": ADMIT,
            "c": "waiting for a job slot: 2 of 2 queued and running jobs, 0 runs ahead",
        },
        id="ties in readiness are broken by name",
    ),
]


@pytest.mark.parametrize(("usage", "requests", "told"), CASES)
def test_admission(usage: AccountUsage, requests: list[RoomRequest], told: dict[str, str]) -> None:
    limits = TIGHT if "big" not in told else AccountLimits(file_bytes=2500)
    decisions = admit(requests, usage, limits)
    said = {
        run: ADMIT if isinstance(decision, Admitted) else decision.describe()
        for run, decision in decisions.items()
    }
    assert said == told


def test_waiting_says_what_and_how_many_are_ahead() -> None:
    waiting = Waiting(Need.DEPLOYMENT, "a deployment slot", 10, 10, ahead=2)
    assert waiting.describe() == "waiting for a deployment slot: 10 of 10 in use, 2 runs ahead"
