import re
from datetime import UTC, datetime, timedelta

import pytest

from localdev.host.ncrontab import Schedule, ScheduleError

START = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)  # a Tuesday


def test_every_five_seconds_fires_on_the_next_multiple_of_five() -> None:
    schedule = Schedule.parse("*/5 * * * * *")
    assert schedule.next_after(START) == START.replace(second=5)
    assert schedule.next_after(START.replace(second=7)) == START.replace(second=10)


def test_hourly_schedule_rolls_over_to_the_next_day() -> None:
    schedule = Schedule.parse("0 30 9 * * *")
    assert schedule.next_after(START) == datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


def test_day_of_week_counts_sunday_as_zero() -> None:
    schedule = Schedule.parse("0 0 0 * * 0")
    assert schedule.next_after(START) == datetime(2026, 11, 29, 0, 0, tzinfo=UTC)


def test_timespan_form_fires_after_the_interval() -> None:
    assert Schedule.parse("00:00:30").next_after(START) == START.replace(second=30)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("* * * * *", "must have 6 fields"),
        ("*/0 * * * * *", "second field '*/0' must stay within 0-59"),
        ("0 61 * * * *", "minute field '61' must stay within 0-59"),
        ("0 0 x * * *", "hour field 'x' is not valid"),
    ],
)
def test_bad_schedules_name_the_field_at_fault(expression: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=re.escape(message)):
        Schedule.parse(expression)


def test_a_timespan_may_hold_a_fraction_of_a_second_as_dotnet_reads_it() -> None:
    assert Schedule.parse("00:00:00.25").next_after(START) == START + timedelta(seconds=0.25)
