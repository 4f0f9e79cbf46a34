"""NCRONTAB schedules (`{second} {minute} {hour} {day} {month} {day-of-week}`) as Azure
Functions timer triggers use them, and the TimeSpan form `hh:mm:ss`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

FIELDS = (("second", 0, 59), ("minute", 0, 59), ("hour", 0, 23), ("day", 1, 31),
          ("month", 1, 12), ("day-of-week", 0, 6))  # fmt: skip
# hh:mm:ss, with a fraction of a second as .NET's TimeSpan reads it (hh:mm:ss.fff).
TIMESPAN = re.compile(r"^(\d{1,2}):(\d{2}):(\d{2}(?:\.\d{1,7})?)$")


class ScheduleError(ValueError):
    """The schedule is not a valid NCRONTAB expression or TimeSpan; the message says where."""


@dataclass(frozen=True)
class Schedule:
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday, as in NCRONTAB
    interval: timedelta | None = None

    @classmethod
    def parse(cls, expression: str) -> Schedule:
        timespan = TIMESPAN.match(expression.strip())
        if timespan:
            hours, minutes, seconds = timespan.groups()
            interval = timedelta(hours=int(hours), minutes=int(minutes), seconds=float(seconds))
            if not interval:
                raise ScheduleError(f"schedule {expression!r}: a TimeSpan must be longer than 0")
            everything = frozenset()
            return cls(everything, everything, everything, everything, everything, everything,
                       interval)  # fmt: skip
        parts = expression.split()
        if len(parts) != 6:
            raise ScheduleError(
                f"schedule {expression!r} must have 6 fields "
                "(second minute hour day month day-of-week), not {len(parts)}"
            )
        sets = [_field(part, *spec, expression) for part, spec in zip(parts, FIELDS, strict=True)]
        return cls(*sets)

    def next_after(self, moment: datetime) -> datetime:
        """The first firing time strictly after `moment`."""
        if self.interval is not None:
            return moment + self.interval
        candidate = moment.replace(microsecond=0) + timedelta(seconds=1)
        limit = candidate + timedelta(days=366 * 5)
        while candidate < limit:
            if candidate.month not in self.months:
                candidate = _first_of_next_month(candidate)
            elif candidate.day not in self.days or _weekday(candidate) not in self.weekdays:
                candidate = (candidate + timedelta(days=1)).replace(hour=0, minute=0, second=0)
            elif candidate.hour not in self.hours:
                candidate = (candidate + timedelta(hours=1)).replace(minute=0, second=0)
            elif candidate.minute not in self.minutes:
                candidate = (candidate + timedelta(minutes=1)).replace(second=0)
            elif candidate.second not in self.seconds:
                candidate += timedelta(seconds=1)
            else:
                return candidate
        raise ScheduleError("the schedule never fires")


def _weekday(moment: datetime) -> int:
    return (moment.weekday() + 1) % 7


def _first_of_next_month(moment: datetime) -> datetime:
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return moment.replace(year=year, month=month, day=1, hour=0, minute=0, second=0)


def _field(text: str, name: str, low: int, high: int, expression: str) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        base, _, step_text = item.partition("/")
        try:
            step = int(step_text) if step_text else 1
            if base == "*":
                start, end = low, high
            elif "-" in base:
                first, last = base.split("-", 1)
                start, end = int(first), int(last)
            else:
                start = int(base)
                end = high if step_text else start
        except ValueError:
            raise ScheduleError(
                f"schedule {expression!r}: {name} field {text!r} is not valid"
            ) from None
        if step < 1 or not (low <= start <= end <= high):
            raise ScheduleError(
                f"schedule {expression!r}: {name} field {text!r} must stay within {low}-{high}"
            )
        values.update(range(start, end + 1, step))
    return frozenset(values)
