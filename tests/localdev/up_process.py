"""`python -m localdev up` as its own process, on free ports and with its own state folder, as a
user runs it: tests start it, look at its process tree, signal it and read what it printed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from localdev.azurite import REPO_ROOT, free_port
from localdev.processes import port_is_free

PORT_SETTINGS = (
    "LOCALDEV_HOST_PORT",
    "LOCALDEV_AZURITE_BLOB_PORT",
    "LOCALDEV_AZURITE_QUEUE_PORT",
    "LOCALDEV_AZURITE_TABLE_PORT",
    "LOCALDEV_EMULATOR_PORT",
    "LOCALDEV_EMULATOR_ARM_PORT",
)
READY_LINE = "Press Ctrl-C to stop."
START_SECONDS = 180  # Azurite, the emulator and the host, on a busy 2-core machine


def free_stack_ports() -> dict[str, int]:
    ports: dict[str, int] = {}
    while len(set(ports.values())) < len(PORT_SETTINGS):
        ports = {name: free_port() for name in PORT_SETTINGS}
    return ports


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.1)


@dataclass
class UpProcess:
    """One `python -m localdev up` (or another `localdev` command) and what it printed."""

    state_dir: Path
    ports: dict[str, int]
    process: subprocess.Popen[bytes]
    out_path: Path
    err_path: Path

    @classmethod
    def start(
        cls,
        workdir: Path,
        *,
        ports: dict[str, int] | None = None,
        env: dict[str, str] | None = None,
        command: tuple[str, ...] = ("up",),
    ) -> UpProcess:
        workdir.mkdir(parents=True, exist_ok=True)
        ports = ports or free_stack_ports()
        state_dir = workdir / "state"
        environ = {
            **os.environ,
            **{name: str(port) for name, port in ports.items()},
            "LOCALDEV_STATE_DIR": str(state_dir),
            **(env or {}),
        }
        out_path, err_path = workdir / "stdout.txt", workdir / "stderr.txt"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            process = subprocess.Popen(
                [sys.executable, "-m", "localdev", *command],
                cwd=REPO_ROOT, env=environ, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        return cls(state_dir, ports, process, out_path, err_path)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports['LOCALDEV_HOST_PORT']}"

    def stdout(self) -> str:
        return self.out_path.read_text(errors="replace")

    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace")

    def output(self) -> str:
        return f"stdout:\n{self.stdout()[-3000:]}\nstderr:\n{self.stderr()[-5000:]}"

    def wait_until_up(self, timeout: float = START_SECONDS) -> None:
        def up() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"`up` exited with {self.process.returncode}:\n{self.output()}"
                )
            return READY_LINE in self.stdout()

        wait_until(up, timeout, "the stack to say it is up")

    def tree(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children(recursive=True)

    def child(self, marker: str) -> psutil.Process:
        """The one child whose command line contains `marker` (`azurite`, `localdev.emulator`)."""
        found = [p for p in self.tree() if any(marker in part for part in p.cmdline())]
        assert len(found) == 1, f"expected one child with {marker!r}, found {found}"
        return found[0]

    def wait_exit(self, timeout: float = 60) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"`up` still runs after {timeout:.0f} s:\n{self.output()}"
            ) from None

    def taken_ports(self) -> list[int]:
        return [port for port in self.ports.values() if not port_is_free(port)]

    def cleanup(self) -> None:
        """After a test: nothing it started may outlive it, whatever the test did."""
        tree = []
        if self.process.poll() is None:
            tree = self.tree()
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for leftover in tree:
            if leftover.is_running():
                leftover.kill()
