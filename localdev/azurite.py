"""Starts Azurite, the local Blob, Queue and Table storage, from the repo's `node_modules`."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from localdev.processes import LOOPBACK, ChildProcess, check_ports_free

REPO_ROOT = Path(__file__).resolve().parent.parent

# Azurite's well-known development account; public and documented, not a secret.
ACCOUNT_NAME = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


class AzuriteNotInstalled(RuntimeError):
    """Azurite is missing: run `npm ci` in the repo root (the README's commands do)."""


@dataclass(frozen=True)
class AzuritePorts:
    blob: int = 10000
    queue: int = 10001
    table: int = 10002

    @property
    def connection_string(self) -> str:
        base = f"http://127.0.0.1:{{}}/{ACCOUNT_NAME}"
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={base.format(self.blob)};"
            f"QueueEndpoint={base.format(self.queue)};"
            f"TableEndpoint={base.format(self.table)};"
        )

    @property
    def blob_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.blob}/{ACCOUNT_NAME}"

    @property
    def table_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.table}/{ACCOUNT_NAME}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_ports() -> AzuritePorts:
    return AzuritePorts(blob=free_port(), queue=free_port(), table=free_port())


def azurite_executable() -> str:
    local = REPO_ROOT / "node_modules" / ".bin" / "azurite"
    if local.exists():
        return str(local)
    on_path = shutil.which("azurite")
    if on_path:
        return on_path
    raise AzuriteNotInstalled(
        f"Azurite is not installed: run `npm ci` in {REPO_ROOT} to install the pinned version."
    )


def azurite_command(data_dir: Path, ports: AzuritePorts) -> list[str]:
    return [
        azurite_executable(),
        "--silent",  # no access log: a busy stack would fill the log with requests
        "--disableTelemetry",  # local storage never phones home
        "--skipApiVersionCheck",
        "--loose",
        "--location", str(data_dir),
        "--blobHost", LOOPBACK, "--blobPort", str(ports.blob),
        "--queueHost", LOOPBACK, "--queuePort", str(ports.queue),
        "--tableHost", LOOPBACK, "--tablePort", str(ports.table),
    ]  # fmt: skip


def log_path_for(data_dir: Path) -> Path:
    """Beside the data folder: `.localdev/azurite` logs to `.localdev/azurite.log`."""
    return data_dir.with_name(f"{data_dir.name}.log")


def port_purposes(ports: AzuritePorts) -> dict[str, int]:
    return {
        "Azurite blob, LOCALDEV_AZURITE_BLOB_PORT": ports.blob,
        "Azurite queue, LOCALDEV_AZURITE_QUEUE_PORT": ports.queue,
        "Azurite table, LOCALDEV_AZURITE_TABLE_PORT": ports.table,
    }


def start_azurite(
    data_dir: Path, ports: AzuritePorts, log_path: Path | None = None
) -> ChildProcess:
    """Starts Azurite and returns once it listens on its three ports. Raises `PortsTaken` before
    starting when one is in use, `ChildExited` if Azurite exits or never listens."""
    check_ports_free(port_purposes(ports))
    data_dir.mkdir(parents=True, exist_ok=True)
    child = ChildProcess(
        "Azurite", azurite_command(data_dir, ports), log_path or log_path_for(data_dir)
    )
    child.start()
    try:
        child.wait_until_listening((ports.blob, ports.queue, ports.table), timeout=60)
    except BaseException:
        child.stop()
        raise
    return child


@contextmanager
def running_azurite(
    data_dir: Path,
    ports: AzuritePorts | None = None,
    *,
    log_path: Path | None = None,
    on_exit: Callable[[str], None] | None = None,
) -> Iterator[AzuritePorts]:
    """Runs Azurite with its data in `data_dir` until the block ends; its output goes to
    `log_path` (default: beside `data_dir`). `on_exit(report)` is called at once if Azurite
    exits before the block ends."""
    ports = ports or AzuritePorts()
    child = start_azurite(data_dir, ports, log_path)
    try:
        if on_exit is not None:
            child.watch(on_exit)
        yield ports
    finally:
        child.stop()
