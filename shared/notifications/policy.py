"""What one delivery attempt's answer means: delivered, try again when, or give up.

A delivery is tried again after a delay that doubles from `base_seconds` up to `max_seconds`,
never shorter than the receiver's `Retry-After` (capped at `max_seconds`: a queue message stays
invisible for at most 7 days). With the defaults (1 min doubling to 6 h, 12 attempts) a receiver
that stays down is tried for about a day. Then the delivery ends as a recorded dead letter. A
410 Gone disables the endpoint: its deliveries end at once, as dead letters too. No I/O here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

MAX_QUEUE_DELAY_SECONDS = 7 * 24 * 3600
_DELTA_SECONDS = re.compile(r"[0-9]+")


class DeliveryState(StrEnum):
    PENDING = "pending"
    """handed to the queue, not tried yet"""
    RETRYING = "retrying"
    """tried and failed; tried again at `next_attempt_at`"""
    DELIVERED = "delivered"
    """the receiver answered 2xx"""
    FAILED = "failed"
    """a dead letter: given up, endpoint gone (410), refused URL, or the delivery kept crashing"""

    @property
    def final(self) -> bool:
        return self in (DeliveryState.DELIVERED, DeliveryState.FAILED)


@dataclass(frozen=True)
class Answer:
    """What a receiver answered: an HTTP status (None when no answer came) and why."""

    status: int | None
    detail: str = ""
    retry_after: float | None = None
    refused: bool = False
    """Not sent at all, for a reason no retry changes (the SSRF guard refused the address)."""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        return self.status == 410


@dataclass(frozen=True)
class Outcome:
    state: DeliveryState
    next_attempt_at: datetime | None = None
    detail: str = ""
    disable_endpoint: bool = False
    status: int | None = None


@dataclass(frozen=True)
class DeliveryPolicy:
    timeout_seconds: float = 10.0
    base_seconds: float = 60.0
    max_seconds: float = 6 * 3600.0
    max_attempts: int = 12

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after the `attempt`-th failed attempt (1-based)."""
        cap = min(self.max_seconds, MAX_QUEUE_DELAY_SECONDS)
        delay = min(self.base_seconds * 2 ** min(max(attempt - 1, 0), 32), cap)
        if retry_after is not None and retry_after > delay:
            delay = min(retry_after, cap)
        return float(delay)

    def outcome(self, attempt: int, answer: Answer, now: datetime) -> Outcome:
        """What attempt number `attempt` (1-based) answered with `answer` leads to."""
        status = answer.status
        if answer.ok:
            return Outcome(DeliveryState.DELIVERED, detail=f"HTTP {status}", status=status)
        said = f"HTTP {answer.status}" if answer.status is not None else "no answer"
        said = f"{said}: {answer.detail}" if answer.detail else said
        if answer.refused:
            return Outcome(DeliveryState.FAILED, detail=f"not sent: {answer.detail}", status=status)
        if answer.gone:
            return Outcome(
                DeliveryState.FAILED,
                detail=f"{said}; the endpoint is gone (410), so it is disabled",
                disable_endpoint=True,
                status=status,
            )
        if attempt >= self.max_attempts:
            detail = f"gave up after {attempt} attempts; {said}"
            return Outcome(DeliveryState.FAILED, detail=detail, status=status)
        wait = timedelta(seconds=self.delay(attempt, answer.retry_after))
        return Outcome(DeliveryState.RETRYING, now + wait, detail=said, status=status)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None for anything else.

    Delta-seconds are ASCII digits only: `str.isdigit` also accepts "²" or Arabic-Indic digits,
    which `float` then refuses, and a receiver chooses what this header holds."""
    if not value:
        return None
    text = value.strip()
    if _DELTA_SECONDS.fullmatch(text):
        return float(text)
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        return None
    return max((when - now).total_seconds(), 0.0)
