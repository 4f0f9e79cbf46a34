"""Brings up the local stack: Azurite and the Azure OpenAI/ARM emulator as watched child
processes, and the Functions host in this process.

What the stack promises (the README's "Running it" says the same to users):
- it starts only when every port it needs is free, and names the port and its holder otherwise;
- a child counts as up only when the sockets on its ports are its own;
- each child's output goes to a log in the state folder (`.localdev/azurite.log`, `emulator.log`);
- if a child exits under a running stack, the stack says so at once, with the exit code and the
  last lines of that child's log, and stops: `up` and `demo` exit non-zero. It does not restart
  the child, so a stack never runs on with a storage or service that is not the one it started.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from localdev.azurite import REPO_ROOT, AzuritePorts, port_purposes, start_azurite
from localdev.config import LocalPorts
from localdev.host import LocalHost
from localdev.host.host_config import HostConfig
from localdev.pool import account_count, account_name, link_accounts, pool_settings
from localdev.processes import ChildProcess, check_ports_free

STATE_DIR = REPO_ROOT / ".localdev"


class StackInUse(RuntimeError):
    """Another stack is running on the same state folder."""


class ChildWatch:
    """Hears the first child that exits under a running stack: says so at once and wakes
    whoever waits on `failed` (the foreground of `up` or `demo`), which then stops the stack."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self._say = say
        self._lock = threading.Lock()
        self.failed = threading.Event()
        self.reason = ""

    def __call__(self, report: str) -> None:
        with self._lock:
            if self.failed.is_set():
                return
            self.reason = report
        self._say(f"{report}\nThe stack stops: a child process that exits is not restarted.")
        self.failed.set()


@dataclass(frozen=True)
class EmulatorEndpoints:
    """Where the emulator child answers, as its `/_emulator/info` reports it."""

    url: str
    arm_url: str
    ca_cert_path: Path
    api_key: str
    subscription_id: str
    resource_group: str
    account_name: str


@dataclass(frozen=True)
class Stack:
    host: LocalHost
    azurite: AzuritePorts
    emulator: EmulatorEndpoints
    settings: Mapping[str, str]
    state_dir: Path
    children: Mapping[str, ChildProcess]
    watch: ChildWatch
    accounts: tuple[EmulatorEndpoints, ...] = ()
    """Every emulated account (LOCALDEV_EMULATOR_ACCOUNTS); the first is `emulator`."""

    @property
    def failed(self) -> threading.Event:
        """Set once a child has exited under the stack; `watch.reason` says which and how."""
        return self.watch.failed


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


def state_dir_of(values: Mapping[str, str]) -> Path:
    return Path(values.get("LOCALDEV_STATE_DIR") or STATE_DIR)


def stack_ports(ports: LocalPorts, accounts: int = 1) -> dict[str, int]:
    """Every port the stack listens on, by what it is for and the setting that moves it."""
    extra = {}
    for index in range(1, accounts):  # LOCALDEV_EMULATOR_ACCOUNTS: two ports up per account
        data, arm = emulator_ports(ports, index)
        extra[f"Azure OpenAI emulator {index + 1}, LOCALDEV_EMULATOR_PORT + {2 * index}"] = data
        extra[f"ARM emulator {index + 1}, LOCALDEV_EMULATOR_ARM_PORT + {2 * index}"] = arm
    return {
        "Functions host, LOCALDEV_HOST_PORT": ports.host,
        **port_purposes(ports.azurite),
        "Azure OpenAI emulator, LOCALDEV_EMULATOR_PORT": ports.emulator,
        "ARM emulator, LOCALDEV_EMULATOR_ARM_PORT": ports.emulator_arm,
        **extra,
    }


def emulator_ports(ports: LocalPorts, index: int) -> tuple[int, int]:
    """The data-plane and ARM ports of the `index`-th emulated account (0: the settings')."""
    return ports.emulator + 2 * index, ports.emulator_arm + 2 * index


@contextmanager
def running_stack(
    values: Mapping[str, str],
    *,
    timings: str = "fast",
    say: Callable[[str], None] | None = None,
) -> Iterator[Stack]:
    """Azurite, the emulator and the host on the ports in `values`, until the block ends.

    Raises `PortsTaken` before starting anything if a port is in use, `StackInUse` if another
    stack runs on the same state folder, `ChildExited` if a child does not come up. While the
    block runs, a child that exits sets `Stack.failed`, after `say` (stderr by default) told why.

    The app settings it computes (storage connection, emulator endpoints) go into `os.environ`,
    because the host runs the functions in this process, as the worker would.
    """
    ports = LocalPorts.from_settings(values)
    accounts = account_count(values)
    check_ports_free(stack_ports(ports, accounts))
    state_dir = state_dir_of(values)
    watch = ChildWatch(say or _to_stderr)
    with ExitStack() as stack:
        stack.enter_context(_exclusive(state_dir))
        azurite = start_azurite(
            state_dir / "azurite", ports.azurite, log_path=state_dir / "azurite.log"
        )
        stack.callback(azurite.stop)
        children = {"azurite": azurite}
        endpoints = []
        for index in range(accounts):
            data_port = emulator_ports(ports, index)[0]
            log = state_dir / ("emulator.log" if index == 0 else f"emulator-{index + 1}.log")
            child = _start_emulator(ports, timings, log, index)
            stack.callback(child.stop)
            children["emulator" if index == 0 else f"emulator-{index + 1}"] = child
            endpoints.append(_emulator_endpoints(data_port))
        emulator = endpoints[0]
        for child in children.values():
            child.watch(watch)

        settings = {**values, "AzureWebJobsStorage": ports.azurite.connection_string}
        settings.update(emulator_settings(emulator))
        if accounts > 1:
            settings.update(pool_settings(endpoints, state_dir))
            link_accounts(endpoints)  # each deploys the others' models (cross-region)
        os.environ.update(settings)
        host = start_host(os.environ, ports.host)
        stack.callback(host.stop)
        yield Stack(
            host=host, azurite=ports.azurite, emulator=emulator, settings=settings,
            state_dir=state_dir, children=children, watch=watch, accounts=tuple(endpoints),
        )  # fmt: skip


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _start_emulator(
    ports: LocalPorts, timings: str, log_path: Path, index: int = 0
) -> ChildProcess:
    data_port, arm_port = emulator_ports(ports, index)
    command = [
        sys.executable, "-m", "localdev.emulator",
        "--port", str(data_port), "--arm-port", str(arm_port),
        "--timings", timings, "--account-name", account_name(index),
    ]  # fmt: skip
    child = ChildProcess("the Azure OpenAI/ARM emulator", command, log_path, cwd=REPO_ROOT)
    child.start()
    try:
        child.wait_until_listening((data_port, arm_port), timeout=60)
    except BaseException:
        child.stop()
        raise
    return child


def _emulator_endpoints(port: int) -> EmulatorEndpoints:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_emulator/info", timeout=10) as answer:
        info = json.loads(answer.read())
    return EmulatorEndpoints(
        url=info["url"], arm_url=info["arm_url"], ca_cert_path=Path(info["ca_cert_path"]),
        api_key=info["api_key"], subscription_id=info["subscription_id"],
        resource_group=info["resource_group"], account_name=info["account_name"],
    )  # fmt: skip


@contextmanager
def _exclusive(state_dir: Path) -> Iterator[None]:
    """Holds `<state_dir>/stack.lock` while the stack runs, so two stacks never share Azurite's
    data folder. The kernel drops the lock with the process, however it ends."""
    state_dir.mkdir(parents=True, exist_ok=True)
    lock: IO[str] = (state_dir / "stack.lock").open("a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "unknown"
            raise StackInUse(
                f"Another stack (pid {holder}) is running on {state_dir}: stop it first, or set"
                " LOCALDEV_STATE_DIR to another folder."
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        yield
    finally:
        lock.close()
