"""The local stack for end-to-end tests: the host runs as its own process (so a test can kill it)
on the session's Azurite and an emulator, with its own containers and table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from azure.storage.blob import BlobServiceClient, ContainerClient

from localdev.azurite import REPO_ROOT, AzuritePorts, free_port
from localdev.config import load_local_settings
from localdev.processes import ChildProcess
from localdev.stack import emulator_settings
from tests.emulator.helpers import ROOMY_SETTINGS

FUNCTION_KEY = "e2e-function-key"
TICK = "00:00:00.25"


# Unexpected exits of host processes, for the report of the test that then fails (conftest).
HOST_EXITS: list[str] = []


@dataclass
class HostProcess:
    """`python -m localdev host` with a given environment; start, kill and start again.

    It counts as started once its own process listens on its port and answers; if it exits
    without being asked to, that is said at once on stderr, with its exit code and last log lines.
    """

    environ: dict[str, str]
    log_path: Path
    child: ChildProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.environ['LOCALDEV_HOST_PORT']}"

    @property
    def process(self) -> subprocess.Popen[bytes]:
        if self.child is None:
            raise RuntimeError("the host was not started")
        return self.child.process

    def start(self) -> None:
        self.child = ChildProcess(
            "the Functions host", [sys.executable, "-m", "localdev", "host"], self.log_path,
            env=self.environ, cwd=REPO_ROOT,
        )  # fmt: skip
        self.child.start()
        try:
            self.child.wait_until_listening([int(self.environ["LOCALDEV_HOST_PORT"])], timeout=60)
            self._wait_until_answering(timeout=30)
        except BaseException:
            self.child.stop()
            raise
        self.child.watch(_host_exited)

    def _wait_until_answering(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/api/health", timeout=30)
                return
            except urllib.error.HTTPError:
                return  # it answers, healthy or not
            except OSError:
                time.sleep(0.1)
        raise TimeoutError(f"the host did not answer within {timeout:.0f} s")

    def kill(self) -> None:
        """Ends the host at once, as a crash would: no clean-up runs."""
        if self.child is not None:
            self.child.kill()

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _host_exited(report: str) -> None:
    HOST_EXITS.append(report)
    sys.__stderr__.write(f"\n{report}\n")
    sys.__stderr__.flush()


@dataclass
class Stack:
    azurite: AzuritePorts
    emulator: Any
    environ: dict[str, str]
    host: HostProcess
    blobs: BlobServiceClient = field(init=False)

    def __post_init__(self) -> None:
        self.blobs = BlobServiceClient.from_connection_string(self.azurite.connection_string)

    @property
    def inbox(self) -> ContainerClient:
        return self.blobs.get_container_client(self.environ["INBOX_CONTAINER"])

    @property
    def reports(self) -> ContainerClient:
        return self.blobs.get_container_client(self.environ["REPORTS_CONTAINER"])

    def call(
        self, method: str, path: str, body: Any = None, *, key: str | None = FUNCTION_KEY,
        raw: bytes | None = None, headers: dict[str, str] | None = None,
    ) -> tuple[int, Any, dict[str, str]]:  # fmt: skip
        """An HTTP call to the host; JSON bodies are decoded."""
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        request = urllib.request.Request(f"{self.host.url}{path}", data=data, method=method)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        if key:
            request.add_header("x-functions-key", key)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, payload, answer_headers = response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            status, payload, answer_headers = error.code, error.read(), error.headers
        content_type = answer_headers.get("Content-Type", "")
        decoded: Any = payload
        if "json" in content_type and payload:
            decoded = json.loads(payload)
        return status, decoded, dict(answer_headers)


def stack_environ(azurite: AzuritePorts, emulator: Any, **overrides: str) -> dict[str, str]:
    """Settings for one isolated host: fresh containers and table, fast timer, free port."""
    suffix = uuid.uuid4().hex[:10]
    environ = {**os.environ, **load_local_settings()}
    environ.update(emulator_settings(emulator))
    environ.update(
        {
            "AzureWebJobsStorage": azurite.connection_string,
            "INBOX_CONTAINER": f"inbox-{suffix}",
            "REPORTS_CONTAINER": f"reports-{suffix}",
            "RUNS_TABLE": f"runs{suffix}",
            "EVENTS_QUEUE": f"events-{suffix}",
            "RUNS_QUEUE": f"runs-{suffix}",
            # A quarter of a second (a TimeSpan; NCRONTAB stops at whole seconds): a run waits
            # for a tick at each step the emulator takes time over, and there are 5 of those.
            "EVENTS_TIMER_SCHEDULE": TICK,
            "RUN_TIMER_SCHEDULE": TICK,
            # Longer than validating a file takes on a busy machine: a validation.jsonl dropped
            # with its train.jsonl must not be settled without. Tests of settling set their own.
            "SETTLE_SECONDS": "10",
            "LOCALDEV_HOST_PORT": str(free_port()),
            "LOCALDEV_FUNCTION_KEY": FUNCTION_KEY,
            # Evaluations (hundreds of calls per deployed run) are tested on their own stacks
            # (test_evaluation.py); elsewhere they would only load the shared CI machine.
            "EVAL_ENABLED": "false",
            # The ledgers count a run's files on the service after the fact; the clean-up that
            # deletes them (KEEP_SERVICE_FILES_HOURS=0, the default) is tested in test_sharing.
            "KEEP_SERVICE_FILES_HOURS": "forever",
            # The session's emulator is shared by every test: roomy, like its limits.
            **ROOMY_SETTINGS,
        }
    )
    environ.update(overrides)
    return environ
