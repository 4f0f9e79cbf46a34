"""Child processes of the local stack: each starts with its output in a log file, is proven to be
the process answering on its ports, is watched while it runs, and stops with all it started.

The stack never adopts a process it did not start: ports are checked before anything starts
(`check_ports_free`), and a child counts as ready only once the sockets listening on its ports
belong to it or to its own descendants (`ChildProcess.wait_until_listening`).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

logger = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
TAIL_LINES = 15
STOP_SECONDS = 10.0


class PortsTaken(RuntimeError):
    """A port the stack needs is in use; the message names each port and what holds it."""


class ChildExited(RuntimeError):
    """A child of the stack exited, or never came up; the message gives its exit code and the
    last lines of its log."""


def port_is_free(port: int) -> bool:
    """Whether a server could listen on 127.0.0.1:`port` now (and nothing answers there)."""
    with socket.socket() as probe:
        # As the servers themselves do on Linux, so a connection lingering in TIME_WAIT does not
        # count; on BSD/macOS the option would let us bind beside a wildcard listener.
        if sys.platform.startswith("linux"):
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
    with socket.socket() as client:
        client.settimeout(1.0)
        return client.connect_ex((LOOPBACK, port)) != 0


def describe_process(pid: int) -> str:
    """`pid 123 (node /x/azurite --location ...)`, shortened, or just the pid when hidden."""
    try:
        command = shlex.join(psutil.Process(pid).cmdline()) or psutil.Process(pid).name()
    except (psutil.Error, OSError):
        return f"pid {pid}"
    if len(command) > 160:
        command = command[:157] + "..."
    return f"pid {pid} ({command})"


def listening_pids(port: int) -> set[int]:
    """The processes listening on TCP `port`, as far as this user may see them."""
    try:
        connections = psutil.net_connections(kind="tcp")
        return {c.pid for c in connections if _listens_on(c, port) and c.pid}
    except psutil.AccessDenied:  # macOS lists system-wide sockets to root only: ask each process
        pids = set()
        for process in psutil.process_iter():
            with contextlib.suppress(psutil.Error):
                if any(_listens_on(c, port) for c in process.net_connections(kind="tcp")):
                    pids.add(process.pid)
        return pids


def _listens_on(connection: Any, port: int) -> bool:  # psutil's sconn or pconn
    return (
        bool(connection.laddr)
        and connection.laddr.port == port
        and (connection.status == psutil.CONN_LISTEN)
    )


def check_ports_free(ports: Mapping[str, int]) -> None:
    """Raises `PortsTaken` naming every taken port (`ports` maps what it is for to the port)."""
    problems = []
    seen: dict[int, str] = {}
    for purpose, port in ports.items():
        if port in seen:
            problems.append(f"  port {port} is set for both {seen[port]} and {purpose}")
            continue
        seen[port] = purpose
        if not port_is_free(port):
            holders = sorted(listening_pids(port))
            held_by = (
                ", ".join(describe_process(pid) for pid in holders)
                if holders
                else "a process this user cannot see"
            )
            problems.append(f"  {LOOPBACK}:{port} ({purpose}) is taken by {held_by}")
    if problems:
        raise PortsTaken(
            "Cannot start: a port the stack needs is taken.\n"
            + "\n".join(problems)
            + "\nThe stack never uses a process it did not start: stop that process, or set the"
            " port's setting to a free port."
        )


def _parent_death_signal() -> Callable[[], None] | None:
    """On Linux, a child started with this gets SIGTERM when the thread that started it dies, so
    even a `kill -9` of the stack leaves no orphan holding its ports. Hence: start children from
    a thread that lives as long as they should (the main thread)."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    pr_set_pdeathsig = 1

    def set_signal() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)

    return set_signal


def how_it_ended(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"exited: killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"exited: killed by signal {-returncode}"
    return f"exited with code {returncode}"


class ChildProcess:
    """One child of the stack, in a process group of its own (Ctrl-C reaches the stack, which
    then stops its children in order), with stdout and stderr appended to `log_path`."""

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        log_path: Path,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.command = list(command)
        self.log_path = log_path
        self._env = dict(env) if env is not None else None
        self._cwd = cwd
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = False
        self._log_start = 0  # where this run's output begins in a log kept across runs

    @property
    def process(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            raise RuntimeError(f"{self.name} was not started")
        return self._process

    @property
    def pid(self) -> int:
        return self.process.pid

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            started = f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC"
            log.write(f"--- {started}: {shlex.join(self.command)}\n".encode())
            log.flush()
            self._log_start = log.tell()
            self._stopping = False
            self._process = subprocess.Popen(
                self.command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=self._env, cwd=self._cwd, start_new_session=True,
                preexec_fn=_parent_death_signal(),
            )  # fmt: skip

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def tree(self) -> list[psutil.Process]:
        """The child and every process it started, while they run."""
        try:
            root = psutil.Process(self.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def listening_ports(self) -> set[int]:
        ports = set()
        for process in self.tree():
            with contextlib.suppress(psutil.Error):
                ports.update(
                    c.laddr.port
                    for c in process.net_connections(kind="tcp")
                    if c.laddr and c.status == psutil.CONN_LISTEN
                )
        return ports

    def wait_until_listening(self, ports: Collection[int], timeout: float = 60.0) -> None:
        """Returns once this child (or one of its descendants) listens on every port: proof that
        what answers there is ours. Raises `ChildExited` if it exits or the time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            if not self.running():
                raise ChildExited(self.exit_report())
            missing = set(ports) - self.listening_ports()
            if not missing:
                return
            if time.monotonic() > deadline:
                others = {port: listening_pids(port) for port in sorted(missing)}
                held = "; ".join(
                    f"port {port} is held by {', '.join(map(describe_process, pids))}"
                    for port, pids in others.items()
                    if pids
                )
                raise ChildExited(
                    f"{self.name} (pid {self.pid}) did not listen on port(s) "
                    f"{', '.join(map(str, sorted(missing)))} within {timeout:.0f} s"
                    + (f" ({held})" if held else "")
                    + ".\n"
                    + self.log_excerpt()
                )
            time.sleep(0.1)

    def watch(self, on_exit: Callable[[str], None]) -> threading.Thread:
        """Calls `on_exit(report)` at once if the child exits without `stop()` asking it to."""

        def wait() -> None:
            self.process.wait()
            if not self._stopping:
                on_exit(self.exit_report())

        thread = threading.Thread(target=wait, name=f"watch-{self.name}", daemon=True)
        thread.start()
        return thread

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """SIGTERM to the child's process group, SIGKILL after `timeout`; idempotent."""
        self._stopping = True
        if self._process is None:
            return
        if self._process.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self._process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                logger.warning("%s did not stop within %.0f s: killing it", self.name, timeout)
                self._signal_group(signal.SIGKILL)
                self._process.wait()
        # Anything it started and left behind goes too.
        self._signal_group(signal.SIGKILL)

    def kill(self) -> None:
        """SIGKILL at once, as a crash would: nothing gets to clean up."""
        self._stopping = True
        if self._process is not None:
            self._signal_group(signal.SIGKILL)
            self._process.wait()

    def _signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signum)

    def exit_report(self) -> str:
        returncode = self.process.wait()
        return f"{self.name} (pid {self.pid}) {how_it_ended(returncode)}.\n{self.log_excerpt()}"

    def log_excerpt(self, lines: int = TAIL_LINES) -> str:
        tail = log_tail(self.log_path, lines, since=self._log_start)
        if not tail:
            return f"Its log {self.log_path} is empty."
        return f"Last lines of {self.log_path}:\n" + "\n".join(f"  | {line}" for line in tail)


def log_tail(path: Path, lines: int = TAIL_LINES, since: int = 0) -> list[str]:
    """The last `lines` non-blank lines of a log after offset `since`, read from its end (logs
    can grow large)."""
    try:
        with path.open("rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(since, log.tell() - 64 * 1024))
            text = log.read().decode("utf-8", errors="replace")
    except OSError:
        return []
    return [line for line in text.splitlines() if line.strip()][-lines:]
