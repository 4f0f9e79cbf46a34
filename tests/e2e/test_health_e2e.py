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

        def answer() -> tuple[int, Any]:
            status, body, _ = stack.call("GET", "/api/health", key=None)
            return status, body

        # Probes run at most once per HEALTH_CACHE_SECONDS (1 s here): the start-up's own call
        # may still be the cached answer, so wait for a fresh one.
        _, body = wait_until(lambda: (a := answer())[0] == 503 and a, 30, "a 503")
        assert body["down"] == ["storage"]
        assert body["problem"] == (
            "storage is down: not answering (ServiceRequestError: connection refused)"
        )
        azurite.start()

        _, body = wait_until(lambda: (a := answer())[0] == 200 and a, 30, "a 200")
        assert body["checks"] == {"storage": "ok", "azure_openai": "ok"}, body
    finally:
        host.stop()
        azurite.stop()
