"""Fires timer functions on their schedules, one thread each, as the Functions host does."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from azure.functions.timer import TimerRequest

from localdev.host.background import BackgroundLoop
from localdev.host.discovery import TimerFunction
from localdev.host.invoke import call_handler
from localdev.host.ncrontab import Schedule

logger = logging.getLogger(__name__)


class TimerRunner(BackgroundLoop):
    """Calls one timer function at each time its schedule names; never two calls at once."""

    def __init__(
        self, function: TimerFunction, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        super().__init__(f"timer-{function.name}")
        self.function = function
        self.schedule = Schedule.parse(function.schedule)
        self.clock = clock
        self.fired = 0

    def _loop(self) -> None:
        if self.function.run_on_startup:
            self._fire(past_due=False)
        due = self.schedule.next_after(self.clock())
        while not self._stop.is_set():
            wait = (due - self.clock()).total_seconds()
            if wait > 0 and self._stop.wait(wait):
                return
            now = self.clock()
            self._fire(past_due=(now - due).total_seconds() > 1)
            due = self.schedule.next_after(max(due, now))

    def _fire(self, past_due: bool) -> None:
        request = TimerRequest(past_due=past_due)
        try:
            call_handler(self.function.handler, {self.function.arg_name: request})
        except Exception:
            # The real host logs a failed timer run and keeps the schedule going.
            logger.exception("timer function %s failed", self.function.name)
        finally:
            self.fired += 1
