"""The daemon threads the local host runs its triggers on."""

from __future__ import annotations

import logging
import threading

from azure.core.exceptions import AzureError

logger = logging.getLogger(__name__)


class BackgroundLoop:
    """Runs `_loop` on a daemon thread from `start()` until `stop()` sets `_stop`."""

    def __init__(self, name: str) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def prepare(self) -> None:
        """Runs once in `start()`, before the thread: create what the loop needs."""

    def start(self) -> None:
        self.prepare()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        raise NotImplementedError


class PollingLoop(BackgroundLoop):
    """Calls `poll_once` again and again; waits `poll_seconds` whenever it found nothing to do.
    A storage error is logged and the loop goes on, as the host keeps a trigger listening."""

    def __init__(self, name: str, poll_seconds: float) -> None:
        super().__init__(name)
        self.poll_seconds = poll_seconds
        # Rounds finished so far: a test proving that a round did NOT do something waits for a
        # round that began after the cause, rather than sleeping and hoping one ran.
        self.rounds = 0

    def poll_once(self) -> bool:
        """Does one round of work; True when there may be more right away."""
        raise NotImplementedError

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.poll_once()
            except AzureError:
                # AzureError, not only HttpResponseError: storage that is down raises
                # ServiceRequestError, and a trigger must outlive a storage outage.
                logger.exception("%s failed to reach storage; trying again", self._thread.name)
                busy = False
            self.rounds += 1
            if not busy:
                self._idle()

    def _idle(self) -> None:
        """Waits before the next round; returns early when the loop is stopped."""
        self._stop.wait(self.poll_seconds)
