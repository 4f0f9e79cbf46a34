"""The log of every request the emulator served, for tests that count calls."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class RequestRecord:
    """One request served. `status` is 0 when the emulator dropped the connection unanswered
    without doing the work (a `timeout` fault); a `lost_answer` logs the work's status."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    time: float
    plane: str  # "openai" (data plane) or "arm"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class RequestLog:
    """Thread-safe, append-only list of `RequestRecord`s."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []

    def append(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def records(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def count(self, method: str, path_contains: str) -> int:
        """How many requests had this method and a path containing `path_contains`."""
        wanted = method.upper()
        return sum(1 for r in self.records() if r.method == wanted and path_contains in r.path)
