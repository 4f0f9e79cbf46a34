"""Fixtures shared by every test: one Azurite for the whole run, on free ports, watched.

If that Azurite exits while the tests run, the session says so at once (exit code and the last
lines of its log), adds the same to the report of any test that then fails, and stops before the
next test with exit code 3, as `./dev up` stops when a child exits: it is not restarted.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from localdev.azurite import AzuritePorts, free_ports, running_azurite

AZURITE_EXITS: list[str] = []


def azurite_exited(report: str) -> None:
    AZURITE_EXITS.append(report)
    # The real stderr: pytest's capture would hold this until the current test ends.
    sys.__stderr__.write(f"\n{report}\nThe test session stops before its next test.\n")
    sys.__stderr__.flush()


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuritePorts]:
    """A real Azurite (Blob, Queue, Table) on free loopback ports, stopped after the run; its
    output goes to `azurite.log` beside its data folder."""
    data_dir: Path = tmp_path_factory.mktemp("azurite-session") / "azurite"
    with running_azurite(data_dir, free_ports(), on_exit=azurite_exited) as ports:
        yield ports


def pytest_runtest_setup(item: pytest.Item) -> None:
    if AZURITE_EXITS:
        pytest.exit(
            f"Stopping: the test session's Azurite exited, so no test can use storage.\n"
            f"{AZURITE_EXITS[0]}",
            returncode=3,
        )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if AZURITE_EXITS and report.failed:
        report.sections.append(("the test session's Azurite exited", AZURITE_EXITS[0]))
