"""The README's promise: the local stack is up and `GET /api/health` answers; and when storage
goes away under a running host, the answer names it."""

from pathlib import Path
from typing import Any

from localdev.azurite import free_ports
from tests.e2e.fault_helpers import RestartableAzurite, wait_until
from tests.e2e.stack import HostProcess, Stack, stack_environ


def test_health_answers_ok_with_storage_and_emulator_up(stack: Stack) -> None:
    status, body, _ = stack.call("GET", "/api/health", key=None)
    assert status == 200, stack.host.log()[-2000:]
    assert body["status"] == "ok"
    assert body["checks"] == {"storage": "ok", "azure_openai": "ok"}


def test_health_names_storage_once_it_is_gone_and_clears_when_it_is_back(
    emulator: Any, tmp_path: Path
) -> None:
    azurite = RestartableAzurite(tmp_path / "azurite", free_ports())
    azurite.start()
    environ = stack_environ(azurite.ports, emulator, HEALTH_CACHE_SECONDS="1")
    host = HostProcess(environ, tmp_path / "host.log")
    host.start()
    try:
        stack = Stack(azurite=azurite.ports, emulator=emulator, environ=host.environ, host=host)
        azurite.stop()
        status, body, _ = stack.call("GET", "/api/health", key=None)
        assert status == 503, body
        assert body["down"] == ["storage"]
        assert body["problem"] == (
            "storage is down: not answering (ServiceRequestError: connection refused)"
        )
        azurite.start()

        def healthy() -> Any:
            # Probes run at most once per HEALTH_CACHE_SECONDS (1 s here): wait for a fresh one.
            status, body, _ = stack.call("GET", "/api/health", key=None)
            return (status, body["checks"]) == (200, {"storage": "ok", "azure_openai": "ok"})

        wait_until(healthy, 30, "health to answer 200 once storage is back")
    finally:
        host.stop()
        azurite.stop()
