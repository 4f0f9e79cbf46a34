"""Brings up the local stack: Azurite, the Azure OpenAI/ARM emulator and the Functions host."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from localdev.azurite import REPO_ROOT, AzuritePorts, running_azurite
from localdev.config import LocalPorts
from localdev.host import LocalHost
from localdev.host.host_config import HostConfig

STATE_DIR = REPO_ROOT / ".localdev"


@dataclass(frozen=True)
class Stack:
    host: LocalHost
    azurite: AzuritePorts
    emulator: object  # localdev.emulator.Emulator
    settings: Mapping[str, str]


def emulator_settings(emulator: object) -> dict[str, str]:
    """The app settings that point Tunedrop at a running emulator."""
    return {
        "AZURE_OPENAI_ENDPOINT": emulator.url,  # type: ignore[attr-defined]
        "AZURE_OPENAI_API_KEY": emulator.api_key,  # type: ignore[attr-defined]
        "ARM_ENDPOINT": emulator.arm_url,  # type: ignore[attr-defined]
        "ARM_CA_BUNDLE": str(emulator.ca_cert_path),  # type: ignore[attr-defined]
        "AZURE_SUBSCRIPTION_ID": emulator.subscription_id,  # type: ignore[attr-defined]
        "AZURE_RESOURCE_GROUP": emulator.resource_group,  # type: ignore[attr-defined]
        "AZURE_OPENAI_ACCOUNT": emulator.account_name,  # type: ignore[attr-defined]
        # The emulator's Event Grid stand-in takes the emulator's key (aeg-sas-key).
        "EVENTGRID_ENDPOINT": f"{emulator.url}/api/events",  # type: ignore[attr-defined]
        "EVENTGRID_KEY": emulator.api_key,  # type: ignore[attr-defined]
    }


def start_host(environ: Mapping[str, str], port: int, root: Path = REPO_ROOT) -> LocalHost:
    """Starts the host on `function_app.app`; `environ` must already be the process environment."""
    from function_app import app  # imported late: the app is loaded as the worker loads it

    host = LocalHost(
        app,
        environ,
        port=port,
        config=HostConfig.load(root / "host.json"),
        function_key=environ.get("LOCALDEV_FUNCTION_KEY", ""),
    )
    host.start()
    return host


@contextmanager
def running_stack(values: Mapping[str, str], *, timings: str = "fast") -> Iterator[Stack]:
    """Azurite, the emulator and the host on the ports in `values`, until the block ends.

    The app settings it computes (storage connection, emulator endpoints) go into `os.environ`,
    because the host runs the functions in this process, as the worker would.
    """
    from localdev.emulator import Timings, running_emulator

    ports = LocalPorts.from_settings(values)
    with ExitStack() as stack:
        state_dir = Path(values.get("LOCALDEV_STATE_DIR") or STATE_DIR)
        azurite = stack.enter_context(running_azurite(state_dir / "azurite", ports.azurite))
        emulator = stack.enter_context(
            running_emulator(
                port=ports.emulator,
                arm_port=ports.emulator_arm,
                timings=Timings.realistic() if timings == "realistic" else Timings.fast(),
            )
        )
        settings = {**values, "AzureWebJobsStorage": azurite.connection_string}
        settings.update(emulator_settings(emulator))
        os.environ.update(settings)
        host = start_host(os.environ, ports.host)
        stack.callback(host.stop)
        yield Stack(host=host, azurite=azurite, emulator=emulator, settings=settings)
