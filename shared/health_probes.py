"""Builds the health probes of the running app from its settings (the app's composition root
for `GET /api/health`)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from shared.credentials import app_credential, storage_credential
from shared.errors import SettingsError
from shared.health import HealthReport, Probe, check_health
from shared.settings import Settings

PROBE_TIMEOUT_SECONDS = 5.0
COGNITIVE_SERVICES_SCOPE = "https://cognitiveservices.azure.com/.default"


def app_health(environ: Mapping[str, str] | None = None) -> HealthReport:
    """The health of the app configured by `environ` (the process environment by default)."""
    try:
        settings = Settings.from_env(os.environ if environ is None else environ)
        probes = {"storage": storage_probe(settings), "azure_openai": openai_probe(settings)}
    except SettingsError as exc:
        return HealthReport({}, problem=str(exc))
    return check_health(probes)


def storage_probe(settings: Settings) -> Probe:
    def probe() -> None:
        from azure.storage.blob import BlobServiceClient  # late: keeps the app's import cheap

        if settings.storage_connection:
            client = BlobServiceClient.from_connection_string(
                settings.storage_connection, connection_timeout=PROBE_TIMEOUT_SECONDS,
                read_timeout=PROBE_TIMEOUT_SECONDS, retry_total=0,
            )  # fmt: skip
        else:
            client = BlobServiceClient(
                settings.blob_account_url,
                credential=storage_credential(settings, app_credential(settings)),
                connection_timeout=PROBE_TIMEOUT_SECONDS, retry_total=0,
            )  # fmt: skip
        client.get_container_client(settings.inbox_container).exists()

    return probe


def openai_probe(settings: Settings) -> Probe:
    """Lists the account's models, the cheapest authenticated call of the data plane."""

    def probe() -> None:
        # Late imports: openai alone is a third of the app's cold start.
        from azure.identity import get_bearer_token_provider
        from openai import AzureOpenAI

        auth: dict[str, object] = (
            {"api_key": settings.openai_api_key}
            if settings.openai_api_key
            else {
                "azure_ad_token_provider": get_bearer_token_provider(
                    app_credential(settings), COGNITIVE_SERVICES_SCOPE
                )
            }
        )
        client = AzureOpenAI(
            azure_endpoint=settings.openai_endpoint,
            api_version=settings.openai_api_version,
            timeout=PROBE_TIMEOUT_SECONDS,
            max_retries=0,
            **auth,  # type: ignore[arg-type]
        )
        client.models.list()

    return probe
