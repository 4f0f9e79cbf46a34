"""Fixtures shared by every test: one Azurite for the whole run, on free ports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from localdev.azurite import AzuritePorts, free_ports, running_azurite


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuritePorts]:
    """A real Azurite (Blob, Queue, Table) on free loopback ports, stopped after the run."""
    data_dir: Path = tmp_path_factory.mktemp("azurite")
    with running_azurite(data_dir, free_ports()) as ports:
        yield ports
