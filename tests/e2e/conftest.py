from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from localdev.azurite import AzuritePorts
from tests.e2e.pipeline_helpers import Drops, guarded_inbox
from tests.e2e.stack import HOST_EXITS, HostProcess, Stack, stack_environ


@pytest.fixture(scope="session")
def emulator() -> Iterator[object]:
    from localdev.emulator import Timings, running_emulator
    from tests.emulator.helpers import ROOMY_LIMITS

    with running_emulator(timings=Timings.fast(), limits=ROOMY_LIMITS) as running:
        yield running


@pytest.fixture
def make_stack(
    azurite: AzuritePorts, emulator: object, tmp_path: Path
) -> Iterator[Callable[..., Stack]]:
    """Starts an isolated host process on the shared Azurite and emulator; ends it after."""
    hosts: list[HostProcess] = []

    def make(**overrides: str) -> Stack:
        environ = stack_environ(azurite, emulator, **overrides)
        host = HostProcess(environ, tmp_path / f"host-{len(hosts)}.log")
        hosts.append(host)
        host.start()
        return Stack(azurite=azurite, emulator=emulator, environ=environ, host=host)

    yield make
    for host in hosts:
        # Ended outright: the test is over, a clean stop would prove nothing here (the local
        # stack's tests prove it) and takes up to seconds on a busy machine, for every host.
        host.kill()


@pytest.fixture
def stack(make_stack: Callable[..., Stack]) -> Stack:
    return make_stack()


@pytest.fixture(scope="module")
def module_stack(
    azurite: AzuritePorts, emulator: object, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """One host, with the default settings, for every test of a module that asks for it: a host
    start and stop cost seconds on a busy machine. Only for tests that call the API and drop
    into runs of their own unique names; a test that kills or reconfigures the host, lists the
    whole table or inbox, or counts what every run did takes `stack` or `make_stack`."""
    environ = stack_environ(azurite, emulator)
    host = HostProcess(environ, tmp_path_factory.mktemp("module-stack") / "host.log")
    host.start()
    try:
        yield Stack(azurite=azurite, emulator=emulator, environ=environ, host=host)
    finally:
        host.kill()  # as make_stack's hosts are


EXITS_BEFORE = pytest.StashKey[int]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failing test's report says which host process exited under it unasked, and how."""
    if call.when == "setup":
        item.stash[EXITS_BEFORE] = len(HOST_EXITS)
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    exits = HOST_EXITS[item.stash.get(EXITS_BEFORE, 0) :]
    if report.failed and exits:
        report.sections.append(("a host process exited unasked", "\n".join(exits)))


@pytest.fixture
def drops(emulator: Any) -> Iterator[Drops]:
    """Drops files into a test's inboxes; after the test, every dropped blob must still be there
    with its ETag and content, and no blob added (Tunedrop only reads the inbox)."""
    with guarded_inbox(emulator) as guarded:
        yield guarded
