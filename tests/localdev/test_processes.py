"""The stack's children: ready only when they own their ports, reported when they exit unasked."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

from localdev.azurite import free_port
from localdev.processes import ChildExited, ChildProcess, PortsTaken, check_ports_free
from tests.localdev.up_process import wait_until

SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]


def test_a_child_is_not_ready_while_another_process_answers_on_its_port(tmp_path: Path) -> None:
    """What answering on a port used to prove: only that something answers there."""
    squatter = socket.create_server(("127.0.0.1", 0))
    port = squatter.getsockname()[1]
    child = ChildProcess("the sleeper", SLEEPER, tmp_path / "sleeper.log")
    child.start()
    try:
        with pytest.raises(ChildExited) as refused:
            child.wait_until_listening([port], timeout=3)  # it never listens: no race to lose
        assert f"the sleeper (pid {child.pid}) did not listen on port(s) {port}" in str(
            refused.value
        )
        assert f"port {port} is held by pid {os.getpid()} (" in str(refused.value)
    finally:
        child.stop()
        squatter.close()


def test_a_child_that_exits_before_listening_is_reported_with_its_code_and_log(
    tmp_path: Path,
) -> None:
    command = [sys.executable, "-c", "print('cannot open the data folder'); raise SystemExit(3)"]
    child = ChildProcess("the quitter", command, tmp_path / "quitter.log")
    child.start()
    with pytest.raises(ChildExited) as exited:
        child.wait_until_listening([free_port()], timeout=60)
    assert str(exited.value) == (
        f"the quitter (pid {child.pid}) exited with code 3.\n"
        f"Last lines of {tmp_path / 'quitter.log'}:\n"
        "  | cannot open the data folder"
    )


def test_an_exit_nobody_asked_for_is_reported_and_a_stop_is_not(tmp_path: Path) -> None:
    reports: list[str] = []
    stopped = ChildProcess("the stopped", SLEEPER, tmp_path / "stopped.log")
    killed = ChildProcess("the killed", SLEEPER, tmp_path / "killed.log")
    for child in (stopped, killed):
        child.start()
    watchers = [stopped.watch(reports.append), killed.watch(reports.append)]
    try:
        stopped.stop()
        watchers[0].join(timeout=30)
        assert not watchers[0].is_alive()  # its watcher has seen the exit, and said nothing
        os.kill(killed.pid, 9)
        wait_until(lambda: reports, 30, "the kill to be reported")
        assert reports == [
            f"the killed (pid {killed.pid}) exited: killed by SIGKILL.\n"
            f"Its log {tmp_path / 'killed.log'} is empty."
        ]
    finally:
        stopped.stop()
        killed.stop()


def test_taken_ports_are_all_named_with_their_purpose_and_holder() -> None:
    squatter = socket.create_server(("127.0.0.1", 0))
    taken, free = squatter.getsockname()[1], free_port()
    try:
        with pytest.raises(PortsTaken) as refused:
            check_ports_free({"the blob port": free, "the table port": taken, "again": free})
    finally:
        squatter.close()
    message = str(refused.value)
    assert f"127.0.0.1:{taken} (the table port) is taken by pid {os.getpid()} (" in message
    assert f"port {free} is set for both the blob port and again" in message
    assert f"127.0.0.1:{free} (the blob port)" not in message
