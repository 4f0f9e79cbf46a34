"""The test session's own Azurite is watched like the stack's: if it dies, the session says so,
with the exit code and Azurite's last log lines, runs no further test and exits with 3."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from localdev.azurite import REPO_ROOT

pytestmark = pytest.mark.e2e

VICTIM = textwrap.dedent(
    """
    import psutil

    from tests.conftest import AZURITE_EXITS
    from tests.localdev.up_process import wait_until


    def test_storage_goes_away(azurite):
        children = psutil.Process().children()
        [victim] = [p for p in children if "azurite" in " ".join(p.cmdline())]
        victim.kill()
        wait_until(lambda: AZURITE_EXITS, 60, "the exit to be reported")


    def test_never_runs():
        raise AssertionError("a test ran after the session's storage had gone")
    """
)


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one process", "two xdist workers"])
def test_a_session_whose_azurite_dies_says_so_and_stops_with_exit_3(
    tmp_path: Path, workers: list[str]
) -> None:
    """Also on the two pytest-xdist workers `./dev test` runs: the worker whose Azurite died
    tells the controller, which stops the run and exits with 3."""
    (tmp_path / "conftest.py").write_text(
        "from tests.conftest import azurite, pytest_sessionfinish, pytest_testnodedown  # noqa\n"
    )
    (tmp_path / "test_victim.py").write_text(VICTIM)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-s", *workers,
         str(tmp_path)],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    said = result.stdout + result.stderr
    assert result.returncode == 3, said
    assert "1 passed" in result.stdout, said  # the second test never started
    assert "Interrupted: the test session's Azurite exited, so no later test can run." in said
    if not workers:  # a worker's own stderr is not passed through by xdist
        assert "exited: killed by SIGKILL." in result.stderr, said  # at once, on stderr
        assert "Azurite Blob service is successfully listening" in result.stderr, said
