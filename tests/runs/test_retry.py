"""The retry policy: doubling delays, capped, never shorter than Retry-After, then giving up."""

from __future__ import annotations

from shared.runs.retry import RetryPolicy


def test_delays_double_from_thirty_seconds_up_to_fifteen_minutes():
    policy = RetryPolicy()
    assert [policy.delay(n) for n in range(1, 8)] == [30, 60, 120, 240, 480, 900, 900]
    assert policy.delay(10_000) == 900


def test_a_longer_retry_after_wins_and_a_shorter_one_does_not():
    policy = RetryPolicy()
    assert policy.delay(1, retry_after=90) == 90
    assert policy.delay(3, retry_after=5) == 120
    assert policy.delay(6, retry_after=3600) == 3600


def test_the_policy_gives_up_at_its_attempt_limit_of_8_by_default():
    policy = RetryPolicy()
    assert not policy.gives_up(7)
    assert policy.gives_up(8)
