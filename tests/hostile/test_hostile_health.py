"""Anonymous `GET /api/health` against a hostile caller: a malformed setting's value (which may
carry a key) is never echoed, only its name; and a caller hammering it cannot make every call
run live storage and model probes (results are cached for `HEALTH_CACHE_SECONDS`)."""

from __future__ import annotations

import json

import azure.functions as func
import pytest

from functions.health import health
from localdev.azurite import AzuritePorts
from shared import health_probes
from shared.health import Probe
from shared.settings import Settings

SETTINGS = {
    "AZURE_OPENAI_ENDPOINT": "http://127.0.0.1:9",
    "AZURE_SUBSCRIPTION_ID": "sub",
    "AZURE_RESOURCE_GROUP": "rg",
    "AZURE_OPENAI_ACCOUNT": "acct",
}
LEAKY = "sEcReT-api-key-0123456789"


def call_health() -> tuple[int, dict]:
    handler = health.build().get_user_function()
    response = handler(func.HttpRequest("GET", "http://localhost/api/health", body=b""))
    return response.status_code, json.loads(response.get_body())


def test_a_malformed_settings_value_is_never_echoed_only_its_name(
    monkeypatch: pytest.MonkeyPatch, azurite: AzuritePorts
) -> None:
    monkeypatch.setenv("AzureWebJobsStorage", azurite.connection_string)
    for name, value in SETTINGS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", f"ftp://aoai.example.com/?api-key={LEAKY}")
    hooks = [{"name": "shop", "url": f"http://shop.example.com/h?token={LEAKY}"}]
    monkeypatch.setenv("WEBHOOKS", json.dumps(hooks))
    monkeypatch.setenv("EVENTS_QUEUE", f"Bad_{LEAKY}")
    status, body = call_health()
    assert status == 503
    assert LEAKY not in json.dumps(body)
    assert body["problem"] == (
        "Tunedrop cannot start; fix these app settings: AZURE_OPENAI_ENDPOINT, WEBHOOKS, "
        "EVENTS_QUEUE (the host log says what is wrong with each)"
    )


def counting_probes(calls: list[str]) -> health_probes.ProbeFactory:
    def probes(settings: Settings) -> dict[str, Probe]:
        return {
            "storage": lambda: calls.append("storage"),
            "azure_openai": lambda: calls.append("azure_openai"),
        }

    return probes


def test_probe_results_are_cached_for_the_configured_time() -> None:
    health_probes.forget_cached_health()
    calls: list[str] = []
    environ = {"AzureWebJobsStorage": "UseDevelopmentStorage=true", **SETTINGS,
               "HEALTH_CACHE_SECONDS": "10"}  # fmt: skip
    now = [100.0]
    for moment in (100.0, 101.0, 109.9):
        now[0] = moment
        report = health_probes.app_health(environ, counting_probes(calls), lambda: now[0])
        assert report.healthy
    assert calls == ["storage", "azure_openai"]  # once for the three calls within 10 s
    now[0] = 110.5
    health_probes.app_health(environ, counting_probes(calls), lambda: now[0])
    assert calls == ["storage", "azure_openai"] * 2
    # Changed settings are probed at once, not answered from another configuration's cache.
    changed = {**environ, "AZURE_OPENAI_ACCOUNT": "other"}
    health_probes.app_health(changed, counting_probes(calls), lambda: now[0])
    assert len(calls) == 6


def test_the_cache_time_is_a_setting_with_a_short_default() -> None:
    base = {"AzureWebJobsStorage": "UseDevelopmentStorage=true", **SETTINGS}
    assert Settings.from_env(base).health_cache_seconds == 10.0
    assert Settings.from_env({**base, "HEALTH_CACHE_SECONDS": "2.5"}).health_cache_seconds == 2.5
