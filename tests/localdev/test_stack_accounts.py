"""`LOCALDEV_EMULATOR_ACCOUNTS=N`: `up` runs N emulated accounts, prints them, and sets the app's
AZURE_OPENAI_ACCOUNTS for them; the default stays one account."""

from __future__ import annotations

import json
import signal
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from localdev.pool import account_count
from tests.localdev.up_process import UpProcess

pytestmark = pytest.mark.e2e


@pytest.fixture
def stacks() -> Iterator[list[UpProcess]]:
    started: list[UpProcess] = []
    yield started
    for stack in started:
        stack.cleanup()


def test_up_with_two_accounts_runs_and_prints_two_emulated_accounts(
    stacks: list[UpProcess], tmp_path: Path
) -> None:
    stack = UpProcess.start(tmp_path, env={"LOCALDEV_EMULATOR_ACCOUNTS": "2"})
    stacks.append(stack)
    stack.wait_until_up()
    emulators = [p for p in stack.tree() if "localdev.emulator" in " ".join(p.cmdline())]
    assert len(emulators) == 2, stack.output()
    assert "Accounts:       2 emulated" in stack.stdout()

    base = stack.ports["LOCALDEV_EMULATOR_PORT"]
    names = []
    for port in (base, base + 2):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_emulator/info", timeout=10) as r:
            names.append(json.loads(r.read())["account_name"])
    assert len(set(names)) == 2 and all(name in stack.stdout() for name in names)
    settings = (stack.state_dir / "emulators-ca.pem").read_text()
    assert settings.count("BEGIN CERTIFICATE") == 2  # ARM trusts each emulator's own CA

    stack.process.send_signal(signal.SIGTERM)
    assert stack.wait_exit() == 0, stack.output()


@pytest.mark.parametrize(("raw", "count"), [("", 1), ("1", 1), ("3", 3)])
def test_the_account_count_defaults_to_one(raw: str, count: int) -> None:
    assert account_count({"LOCALDEV_EMULATOR_ACCOUNTS": raw}) == count


@pytest.mark.parametrize("raw", ["0", "two", "31"])
def test_a_bad_account_count_is_refused_naming_the_setting(raw: str) -> None:
    with pytest.raises(ValueError, match="LOCALDEV_EMULATOR_ACCOUNTS"):
        account_count({"LOCALDEV_EMULATOR_ACCOUNTS": raw})
