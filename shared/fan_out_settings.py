"""The settings of the timer at scale: when a tick hands its due runs to a queue instead of
advancing them itself (see `shared.pipeline.fan_out` and the README's "The timer at scale").

    RUNS_QUEUE            tunedrop-runs: the queue (also named in the queue trigger's binding)
    FAN_OUT_ABOVE_RUNS    200: a tick with more due runs than this puts them on RUNS_QUEUE;
                          0 puts every due run there, "never" keeps every run on the timer
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from shared.notifications.settings import QUEUE_NAME

NEVER = "never"
DEFAULT_QUEUE = "tunedrop-runs"
# benchmarks/tick.py, part 4: a running run costs three Azure calls a tick; at 100 ms each and 8
# workers, 500 runs take about 19 s of the 30 s schedule. 200 leaves room for slower answers.
DEFAULT_ABOVE_RUNS = 200


@dataclass(frozen=True)
class FanOutSettings:
    queue: str = DEFAULT_QUEUE
    above_runs: int | None = DEFAULT_ABOVE_RUNS
    """More due runs than this in one tick go on the queue; None: never."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str], problems: list[str]) -> FanOutSettings:
        queue = environ.get("RUNS_QUEUE", "").strip() or DEFAULT_QUEUE
        if not QUEUE_NAME.match(queue):
            problems.append(f"RUNS_QUEUE {queue!r} is not a valid queue name (3-57 of a-z 0-9 -)")
            queue = DEFAULT_QUEUE
        raw = environ.get("FAN_OUT_ABOVE_RUNS", "").strip().lower()
        above: int | None = DEFAULT_ABOVE_RUNS
        if raw == NEVER:
            above = None
        elif raw and raw.isascii() and raw.isdigit():
            above = int(raw)
        elif raw:
            problems.append(
                f"FAN_OUT_ABOVE_RUNS must be a whole number of runs (0: always) or {NEVER!r}, "
                f"not {raw!r}"
            )
        return cls(queue, above)
