"""The README's promise: the local stack is up and `GET /api/health` answers."""

from tests.e2e.stack import Stack


def test_health_answers_ok_with_storage_and_emulator_up(stack: Stack) -> None:
    status, body, _ = stack.call("GET", "/api/health", key=None)
    assert status == 200, stack.host.log()[-2000:]
    assert body["status"] == "ok"
    assert body["checks"] == {"storage": "ok", "azure_openai": "ok"}
