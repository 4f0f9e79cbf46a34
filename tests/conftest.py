"""Fixtures shared by every test: one Azurite for the whole run, on free ports, watched.

If that Azurite exits while the tests run, the session stops as `./dev up` does (the Azurite is
not restarted): its exit code and the last lines of its log go to stderr at once (into the
captured output of the test running then, unless `-s`), no later test starts, pytest's summary
says why it was interrupted, and the session exits with 3.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from hypothesis.database import DirectoryBasedExampleDatabase

from localdev.azurite import AzuritePorts, free_ports, running_azurite
from tests.fuzzing import DATABASE_DIR, PROFILE

AZURITE_EXITS: list[str] = []
AZURITE_EXIT_STATUS = 3

# Hypothesis profiles (tests/fuzzing.py says which is used when). A busy machine is slow, not
# wrong: no deadline in any of them.
settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile(
    "dev", database=DirectoryBasedExampleDatabase(DATABASE_DIR), deadline=None
)
settings.register_profile(
    "fuzz", database=DirectoryBasedExampleDatabase(DATABASE_DIR), deadline=None, print_blob=True
)
settings.load_profile(PROFILE)


@pytest.fixture(scope="session")
def azurite(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AzuritePorts]:
    """A real Azurite (Blob, Queue, Table) on free loopback ports, stopped after the run; its
    output goes to `azurite.log` beside its data folder."""
    session = request.session

    def exited(report: str) -> None:
        AZURITE_EXITS.append(report)
        session.shouldstop = (
            f"the test session's Azurite exited, so no later test can run.\n{report}"
        )
        # Shown at once with `-s`; otherwise in the captured output of the test running now.
        sys.__stderr__.write(f"\n{report}\n")
        sys.__stderr__.flush()

    data_dir: Path = tmp_path_factory.mktemp("azurite-session") / "azurite"
    with running_azurite(data_dir, free_ports(), on_exit=exited) as ports:
        yield ports


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if AZURITE_EXITS:
        session.exitstatus = AZURITE_EXIT_STATUS
        # On a pytest-xdist worker: tell the controller, which ends the whole run with 3 too.
        workeroutput = getattr(session.config, "workeroutput", None)
        if workeroutput is not None:
            workeroutput["azurite_exits"] = list(AZURITE_EXITS)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """pytest-xdist's controller: a worker whose Azurite exited makes the run exit with 3 (the
    worker's stop already stops the others)."""
    AZURITE_EXITS.extend(getattr(node, "workeroutput", {}).get("azurite_exits", []))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every Hypothesis test is marked `property`: `./dev fuzz` runs those (`-m property`)."""
    for item in items:
        if getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
            item.add_marker(pytest.mark.property)
