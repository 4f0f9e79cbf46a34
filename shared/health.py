"""The health report of `GET /api/health`: the version and whether each dependency answers.

Probes are callables that return when their dependency answers and raise otherwise; the report
names only the exception type, because SDK messages can carry URLs with tokens in them.
"""

from __future__ import annotations

import logging
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
    def healthy(self) -> bool:
        return not self.problem and all(state == "ok" for state in self.checks.values())

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "status": "ok" if self.healthy else "unhealthy",
            "version": VERSION,
            "checks": dict(self.checks),
        }
        if self.problem:
            body["problem"] = self.problem
        return body


def check_health(probes: Mapping[str, Probe]) -> HealthReport:
    """Runs every probe, even after one fails, so the report shows all that is down."""
    results = {}
    for name, probe in probes.items():
        try:
            probe()
            results[name] = "ok"
        except Exception as exc:  # any failure of a probe is the finding, and is reported
            logger.warning("health check %s failed: %s", name, type(exc).__name__)
            results[name] = f"not answering ({type(exc).__name__})"
    return HealthReport(results)
