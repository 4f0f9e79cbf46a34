"""`python -m localdev.emulator` runs in the foreground, prints its URLs and stops on Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from localdev.emulator import running_emulator
from localdev.emulator.__main__ import main

REPO = Path(__file__).resolve().parents[2]


# Starts the command with SIGINT's disposition set first, as a shell would hand it down: a
# background job of a script or a non-interactive shell (`./dev test &`), and all it starts,
# begins with SIGINT ignored.
WITH_SIGINT = """import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN if sys.argv[1] == "ignored" else signal.SIG_DFL)
os.execv(sys.executable, [sys.executable, *sys.argv[2:]])"""


@pytest.mark.parametrize("inherited", ["default", "ignored"])
def test_the_command_prints_its_urls_serves_and_stops_on_ctrl_c(inherited: str) -> None:
    command = ["-m", "localdev.emulator", "--port", "0", "--arm-port", "0"]
    process = subprocess.Popen(
        [sys.executable, "-c", WITH_SIGINT, inherited, *command],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        printed = []
        while not printed or not printed[-1].lstrip().startswith("admin:"):
            line = process.stdout.readline()
            assert line, f"the emulator exited early, having printed: {printed}"
            printed.append(line)
        admin_url = printed[-1].split()[-1]
        with urllib.request.urlopen(admin_url, timeout=5) as answer:
            info = json.load(answer)
        assert info["url"] in "".join(printed)
        assert info["arm_url"].startswith("https://127.0.0.1:")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()


def test_unknown_timings_are_refused_by_the_argument_parser() -> None:
    with pytest.raises(SystemExit) as refused:
        main(["--timings", "slow"])
    assert refused.value.code == 2


def test_a_port_already_taken_fails_the_start_and_frees_the_other_port() -> None:
    with running_emulator() as first:
        taken = int(first.url.rsplit(":", 1)[1])
        with pytest.raises(OSError), running_emulator(arm_port=taken):
            pass
