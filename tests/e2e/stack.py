"""The local stack for end-to-end tests: the host runs as its own process (so a test can kill it)
on the session's Azurite and an emulator, with its own containers and table."""

from __future__ import annotations

import json
import os
import signal
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
from localdev.stack import emulator_settings

FUNCTION_KEY = "e2e-function-key"


@dataclass
class HostProcess:
    """`python -m localdev host` with a given environment; start, kill and start again."""

    environ: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.environ['LOCALDEV_HOST_PORT']}"

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "localdev", "host"],
            cwd=REPO_ROOT, env=self.environ, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the host exited early:\n{self.log_path.read_text()[-3000:]}")
            try:
                urllib.request.urlopen(f"{self.url}/api/health", timeout=2)
                return
            except urllib.error.HTTPError:
                return  # it answers, healthy or not
            except OSError:
                time.sleep(0.1)
        raise TimeoutError("the host did not answer within 30 s")

    def kill(self) -> None:
        """Ends the host at once, as a crash would: no clean-up runs."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


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
            "EVENTS_TIMER_SCHEDULE": "* * * * * *",
            "RUN_TIMER_SCHEDULE": "* * * * * *",
            "SETTLE_SECONDS": "2",
            "LOCALDEV_HOST_PORT": str(free_port()),
            "LOCALDEV_FUNCTION_KEY": FUNCTION_KEY,
            # Evaluations (hundreds of calls per deployed run) are tested on their own stacks
            # (test_evaluation.py); elsewhere they would only load the shared CI machine.
            "EVAL_ENABLED": "false",
        }
    )
    environ.update(overrides)
    return environ
