"""Backoff, Retry-After, 410 and giving up; the SSRF guard; the settings' sentences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.notifications.policy import Answer, DeliveryPolicy, DeliveryState, parse_retry_after
from shared.notifications.settings import NotificationSettings
from shared.notifications.urls import addresses_problem, url_problem

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
POLICY = DeliveryPolicy(base_seconds=60, max_seconds=3600, max_attempts=5)
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_a_failed_attempt_is_retried_later_each_time_doubling_up_to_the_cap() -> None:
    delays = [POLICY.delay(attempt) for attempt in range(1, 9)]
    assert delays == [60, 120, 240, 480, 960, 1920, 3600, 3600]
    outcome = POLICY.outcome(1, Answer(500, "boom"), NOW)
    assert outcome.state is DeliveryState.RETRYING
    assert outcome.next_attempt_at == NOW + timedelta(seconds=60)


def test_retry_after_is_honoured_when_longer_than_the_backoff() -> None:
    outcome = POLICY.outcome(1, Answer(429, "slow down", retry_after=900), NOW)
    assert outcome.next_attempt_at == NOW + timedelta(seconds=900)
    assert parse_retry_after("120", NOW) == 120
    assert parse_retry_after("Tue, 01 Dec 2026 12:05:00 GMT", NOW) == 300
    assert parse_retry_after("soon", NOW) is None


def test_the_last_attempt_ends_as_a_dead_letter_with_the_last_answer() -> None:
    outcome = POLICY.outcome(5, Answer(503, "down"), NOW)
    assert outcome.state is DeliveryState.FAILED
    assert outcome.detail == "gave up after 5 attempts; HTTP 503: down"


def test_410_gone_fails_at_once_and_disables_the_endpoint() -> None:
    outcome = POLICY.outcome(1, Answer(410, "Gone"), NOW)
    assert outcome.state is DeliveryState.FAILED and outcome.disable_endpoint


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://hooks.example.com/x", "must use https"),
        ("https://10.0.0.5/x", "private or reserved"),
        ("https://169.254.169.254/metadata", "private or reserved"),
        ("https://[::1]/x", "private or reserved"),
        ("https://localhost/x", "points at this machine"),
        ("https://user:pw@hooks.example.com/x", "credentials"),
    ],
)
def test_the_ssrf_guard_refuses_urls_that_reach_inside(url: str, problem: str) -> None:
    assert problem in (url_problem(url) or "")


def test_the_local_only_setting_allows_http_on_loopback() -> None:
    assert url_problem("http://127.0.0.1:8099/hook", allow_private=True) is None
    assert url_problem("http://127.0.0.1:8099/hook") is not None


def test_a_public_name_passes_until_it_resolves_to_a_private_address() -> None:
    url = "https://hooks.example.com/tunedrop"
    assert url_problem(url) is None
    assert addresses_problem(url, ["93.184.215.14"], allow_private=False) is None
    problem = addresses_problem(url, ["192.168.1.9"], allow_private=False)
    assert problem == "hooks.example.com resolves to 192.168.1.9, a private or reserved address"
    assert addresses_problem(url, ["::ffff:127.0.0.1"], allow_private=False)


def test_settings_problems_never_quote_a_webhook_url_which_may_hold_a_token() -> None:
    problems: list[str] = []
    secret_url = "http://hooks.example.com/services/T0/B0/sekrit-token"
    settings = NotificationSettings.from_env(
        {"WEBHOOKS": f'[{{"name": "a", "url": "{secret_url}"}}]'}, problems
    )
    assert problems and "sekrit" not in " ".join(problems)
    assert "sekrit" not in repr(settings)


def test_settings_name_every_bad_webhook_setting() -> None:
    problems: list[str] = []
    NotificationSettings.from_env(
        {
            "WEBHOOKS": '[{"name": "a", "url": "http://x.example.com"},'
            ' {"name": "b", "url": "https://x.example.com", "events": ["tunedrop.run.done"]}]',
            "EVENTGRID_ENDPOINT": "https://topic.westeurope-1.eventgrid.azure.net/api/events",
            "EVENTGRID_KEY": "k",
        },
        problems,
    )
    assert problems == [
        "WEBHOOKS[0].url must use https",
        "WEBHOOKS[1].events: unknown event types tunedrop.run.done",
        "EVENTGRID_KEY is only for a local stand-in on loopback; in Azure, Tunedrop "
        "publishes with its managed identity (role EventGrid Data Sender)",
    ]


def test_each_webhook_gets_only_the_events_it_wants_and_event_grid_gets_all() -> None:
    problems: list[str] = []
    settings = NotificationSettings.from_env(
        {
            "WEBHOOKS": '[{"name": "all", "url": "https://a.example.com"},'
            ' {"name": "ends", "url": "https://b.example.com",'
            ' "events": ["tunedrop.run.deployed", "tunedrop.run.failed"]}]',
            "WEBHOOK_SECRET": SECRET,
            "EVENTGRID_ENDPOINT": "https://topic.westeurope-1.eventgrid.azure.net/api/events",
        },
        problems,
    )
    assert problems == []
    assert settings.targets("tunedrop.run.queued") == ["all", "eventgrid"]
    assert settings.targets("tunedrop.run.deployed") == ["all", "ends", "eventgrid"]
    assert SECRET not in repr(settings)


def test_event_grid_uses_the_managed_identity_over_https_and_a_key_only_on_loopback() -> None:
    problems: list[str] = []
    NotificationSettings.from_env(
        {"EVENTGRID_ENDPOINT": "http://topic.example.com/api/events"}, problems
    )
    assert problems == ["EVENTGRID_ENDPOINT must use https with the managed identity"]
    problems = []
    local = NotificationSettings.from_env(
        {"EVENTGRID_ENDPOINT": "http://127.0.0.1:8181/api/events", "EVENTGRID_KEY": "k"}, problems
    )
    assert problems == [] and local.targets("tunedrop.run.failed") == ["eventgrid"]
    assert "'k'" not in repr(local)
