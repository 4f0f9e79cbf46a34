"""When to try a failed call again, and when to give up.

A transient error (throttling, a 5xx, a timeout) never fails a run at once. The step is tried again
on a later tick, after a delay that doubles with each attempt: 30 s, 60 s, 120 s, ... capped at
15 minutes, and never shorter than the Retry-After the service asked for. The delays carry no
jitter: ticks already spread calls over the timer's schedule, and fixed delays keep runs and tests
reproducible. After `max_attempts` (8) consecutive transient errors of one step, about an hour of
trying with the defaults, the run fails with the last error as its reason. Any success resets
the count.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float = 30.0
    max_seconds: float = 900.0
    max_attempts: int = 8

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after the `attempt`-th consecutive failure (1-based)."""
        exponent = max(attempt - 1, 0)
        delay = min(self.base_seconds * 2 ** min(exponent, 32), self.max_seconds)
        if retry_after is not None and retry_after > delay:
            return float(retry_after)
        return float(delay)

    def gives_up(self, attempts: int) -> bool:
        """True once `attempts` consecutive transient failures are too many."""
        return attempts >= self.max_attempts
