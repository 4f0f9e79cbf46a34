"""One emulator per test module, with the fast timings."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

from localdev.emulator import Emulator, Timings, running_emulator
from tests.emulator.helpers import arm_client, openai_client


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with running_emulator(timings=Timings.fast()) as running:
        yield running


@pytest.fixture
def client(emulator: Emulator) -> openai.AzureOpenAI:
    """The real `openai` client on the emulator, with retries off so every answer shows."""
    return openai_client(emulator)


@pytest.fixture
def arm(emulator: Emulator) -> CognitiveServicesManagementClient:
    return arm_client(emulator)


@pytest.fixture
def no_faults_left(emulator: Emulator) -> Iterator[None]:
    """Disarms whatever faults a test left armed, even when it failed half-way."""
    yield
    emulator.clear_faults()
