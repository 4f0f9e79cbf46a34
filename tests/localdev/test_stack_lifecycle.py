"""`python -m localdev up` as a user runs it: it refuses taken ports and names them, stops cleanly
on SIGTERM as on Ctrl-C, leaves nothing behind even when killed, and when Azurite or the emulator
dies under it, says so at once (exit code and log lines) and stops with a non-zero exit."""

from __future__ import annotations

import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from localdev.azurite import AzuritePorts, start_azurite
from tests.localdev.up_process import UpProcess, free_stack_ports, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def stacks() -> Iterator[list[UpProcess]]:
    started: list[UpProcess] = []
    yield started
    for stack in started:
        stack.cleanup()


def start_up(stacks: list[UpProcess], workdir: Path, **kwargs: object) -> UpProcess:
    stack = UpProcess.start(workdir, **kwargs)  # type: ignore[arg-type]
    stacks.append(stack)
    return stack


def assert_gone(processes: list[psutil.Process], output: str) -> None:
    """Every process is gone (a generous deadline: a stop waits for its children anyway)."""
    _, alive = psutil.wait_procs(processes, timeout=20)
    assert not alive, f"left running: {[p.cmdline() for p in alive]}\n{output}"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_sigterm_stops_the_stack_as_ctrl_c_does_with_no_child_left_and_every_port_free(
    stacks: list[UpProcess], tmp_path: Path, signum: signal.Signals
) -> None:
    stack = start_up(stacks, tmp_path)
    stack.wait_until_up()
    children = stack.tree()
    azurite, emulator = stack.child("azurite"), stack.child("localdev.emulator")
    assert {azurite, emulator} <= set(children)
    assert sorted(stack.taken_ports()) == sorted(stack.ports.values())

    stack.process.send_signal(signum)

    assert stack.wait_exit() == 0, stack.output()
    assert "stopping" in stack.stderr()
    assert_gone(children, stack.output())
    assert stack.taken_ports() == [], stack.output()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal: Linux")
def test_a_stack_killed_outright_leaves_no_child_holding_its_ports(
    stacks: list[UpProcess], tmp_path: Path
) -> None:
    stack = start_up(stacks, tmp_path)
    stack.wait_until_up()
    children = stack.tree()
    assert len(children) >= 2

    stack.process.kill()  # no clean-up runs in `up`: the children must go by themselves

    assert stack.wait_exit() == -signal.SIGKILL
    assert_gone(children, stack.output())
    wait_until(lambda: not stack.taken_ports(), 20, "the dead stack's ports to be free")


def test_a_stack_refuses_taken_ports_naming_each_and_its_holder_and_starts_nothing(
    stacks: list[UpProcess], tmp_path: Path
) -> None:
    """The issue's case: an Azurite left over from an earlier stack holds the storage ports."""
    ports = free_stack_ports()
    leftover_ports = AzuritePorts(
        blob=ports["LOCALDEV_AZURITE_BLOB_PORT"],
        queue=ports["LOCALDEV_AZURITE_QUEUE_PORT"],
        table=ports["LOCALDEV_AZURITE_TABLE_PORT"],
    )
    leftover = start_azurite(tmp_path / "leftover" / "azurite", leftover_ports)
    squatter = socket.create_server(("127.0.0.1", ports["LOCALDEV_EMULATOR_PORT"]))
    try:
        stack = start_up(stacks, tmp_path / "second", ports=ports)
        assert stack.wait_exit(timeout=60) == 1, stack.output()
        refusal = stack.stderr()
        for purpose, port in (
            ("Azurite blob, LOCALDEV_AZURITE_BLOB_PORT", leftover_ports.blob),
            ("Azurite queue, LOCALDEV_AZURITE_QUEUE_PORT", leftover_ports.queue),
            ("Azurite table, LOCALDEV_AZURITE_TABLE_PORT", leftover_ports.table),
        ):
            assert f"127.0.0.1:{port} ({purpose}) is taken by pid {leftover.pid} (" in refusal
            assert "azurite" in refusal.split(f"127.0.0.1:{port} (", 1)[1].splitlines()[0]
        emulator_port = ports["LOCALDEV_EMULATOR_PORT"]
        assert (
            f"127.0.0.1:{emulator_port} (Azure OpenAI emulator, LOCALDEV_EMULATOR_PORT) "
            f"is taken by pid {psutil.Process().pid} ("
        ) in refusal
        assert "never uses a process it did not start" in refusal
        # Nothing was started or adopted: no log, no data, and the holders were left alone.
        assert not stack.state_dir.exists()
        assert leftover.running()
        assert psutil.Process(leftover.pid).children() == []
    finally:
        squatter.close()
        leftover.stop()


def test_a_second_stack_on_the_same_state_folder_is_refused_naming_the_first(
    stacks: list[UpProcess], tmp_path: Path
) -> None:
    first = start_up(stacks, tmp_path / "first")
    first.wait_until_up()
    second = start_up(stacks, tmp_path / "second", env={"LOCALDEV_STATE_DIR": str(first.state_dir)})
    assert second.wait_exit(timeout=60) == 1, second.output()
    assert (
        f"Another stack (pid {first.process.pid}) is running on {first.state_dir}"
        in second.stderr()
    )
    assert first.process.poll() is None
    assert second.taken_ports() == []


@pytest.mark.parametrize(
    ("marker", "name", "log"),
    [
        ("azurite", "Azurite", "azurite.log"),
        ("localdev.emulator", "the Azure OpenAI/ARM emulator", "emulator.log"),
    ],
    ids=["azurite", "emulator"],
)
def test_a_child_killed_under_a_running_stack_is_reported_at_once_and_the_stack_stops(
    stacks: list[UpProcess], tmp_path: Path, marker: str, name: str, log: str
) -> None:
    stack = start_up(stacks, tmp_path)
    stack.wait_until_up()
    children = stack.tree()
    victim = stack.child(marker)

    victim.kill()

    assert stack.wait_exit() == 1, stack.output()
    said = stack.stderr()
    assert f"{name} (pid {victim.pid}) exited: killed by SIGKILL." in said
    excerpt = said.split(f"Last lines of {stack.state_dir / log}:\n", 1)
    assert len(excerpt) == 2, said
    first_line = excerpt[1].splitlines()[0]
    assert first_line.startswith("  | "), said  # the child's own words, from its log
    assert "The stack stops: a child process that exits is not restarted." in said
    assert_gone(children, stack.output())
    assert stack.taken_ports() == [], stack.output()


def test_azurite_runs_without_telemetry_and_writes_to_its_log_in_the_state_folder(
    stacks: list[UpProcess], tmp_path: Path
) -> None:
    stack = start_up(stacks, tmp_path)
    stack.wait_until_up()
    assert "--disableTelemetry" in stack.child("azurite").cmdline()
    log = (stack.state_dir / "azurite.log").read_text()
    assert "Azurite Blob service is successfully listening" in log
    emulator_log = (stack.state_dir / "emulator.log").read_text()
    assert "emulator started" in emulator_log
    assert f"Logs:           {stack.state_dir}/azurite.log" in stack.stdout()
