"""The health report of `GET /api/health`: the version and whether each dependency answers.

Probes are callables that return when their dependency answers and raise otherwise; the report
names the dependency that is down and why in a few fixed words (the exception's type and, when a
socket error lies beneath, what kind), never the exception's message, because SDK messages can
carry URLs with tokens in them.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.version import VERSION

logger = logging.getLogger(__name__)

Probe = Callable[[], None]


@dataclass(frozen=True)
class HealthReport:
    checks: Mapping[str, str]  # dependency -> "ok" or why not
    problem: str = ""  # a start-up problem (bad settings) that stops every check

    @property
    def down(self) -> list[str]:
        """The dependencies that did not answer, in probe order."""
        return [name for name, state in self.checks.items() if state != "ok"]

    @property
    def healthy(self) -> bool:
        return not self.problem and not self.down

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "status": "ok" if self.healthy else "unhealthy",
            "version": VERSION,
            "checks": dict(self.checks),
        }
        if self.down:
            body["down"] = self.down
        problem = self.problem or "; ".join(
            f"{name} is down: {self.checks[name]}" for name in self.down
        )
        if problem:
            body["problem"] = problem
        return body


def check_health(probes: Mapping[str, Probe]) -> HealthReport:
    """Runs every probe, even after one fails, so the report shows all that is down."""
    results = {}
    for name, probe in probes.items():
        try:
            probe()
            results[name] = "ok"
        except Exception as exc:  # any failure of a probe is the finding, and is reported
            results[name] = f"not answering ({why(exc)})"
            logger.warning("health check %s failed: %s", name, results[name])
    return HealthReport(results)


# The socket errors that say what kind of outage it is, in words that carry no detail.
_SOCKET_CAUSES: tuple[tuple[type[BaseException], str], ...] = (
    (ConnectionRefusedError, "connection refused"),
    (ConnectionResetError, "connection reset"),
    (TimeoutError, "timed out"),
    (socket.gaierror, "host name not resolved"),
)


def why(exc: BaseException) -> str:
    """`ServiceRequestError: connection refused`: the type, and the socket cause beneath it."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        cause = pending.pop(0)
        if id(cause) in seen:
            continue
        seen.add(id(cause))
        for kind, words in _SOCKET_CAUSES:
            if isinstance(cause, kind):
                return f"{type(exc).__name__}: {words}"
        # Azure SDK errors keep what they wrap in `inner_exception` rather than as a cause.
        beneath = (cause.__cause__, cause.__context__, getattr(cause, "inner_exception", None))
        pending.extend(inner for inner in beneath if isinstance(inner, BaseException))
    return type(exc).__name__
