"""Builds the health probes of the running app from its settings (the app's composition root
for `GET /api/health`).

The endpoint is anonymous, so two things hold whoever calls it: a settings problem is answered
with the names of the settings at fault, never their values (a malformed endpoint may carry a
key in its query; the full sentences go to the host log), and the live probes of storage and
Azure OpenAI run at most once per `HEALTH_CACHE_SECONDS`, however often it is called.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping

from shared.credentials import app_credential, storage_credential
from shared.errors import SettingsError
from shared.health import HealthReport, Probe, check_health
from shared.redact import redact_text
from shared.settings import Settings

logger = logging.getLogger(__name__)
PROBE_TIMEOUT_SECONDS = 5.0
COGNITIVE_SERVICES_SCOPE = "https://cognitiveservices.azure.com/.default"

ProbeFactory = Callable[[Settings], Mapping[str, Probe]]
_cache_lock = threading.Lock()
_cached: tuple[str, float, HealthReport] | None = None  # (settings digest, until, report)


def app_probes(settings: Settings) -> dict[str, Probe]:
    return {"storage": storage_probe(settings), "azure_openai": openai_probe(settings)}


def app_health(
    environ: Mapping[str, str] | None = None,
    probes_for: ProbeFactory = app_probes,
    clock: Callable[[], float] = time.monotonic,
) -> HealthReport:
    """The health of the app configured by `environ` (the process environment by default),
    from the probes of at most `HEALTH_CACHE_SECONDS` ago."""
    global _cached
    environ = os.environ if environ is None else environ
    try:
        settings = Settings.from_env(environ)
    except SettingsError as exc:
        logger.error("health: %s", redact_text(str(exc)))
        return HealthReport({}, problem=_names_only(exc))
    digest = hashlib.sha256(repr(sorted(environ.items())).encode()).hexdigest()
    # One caller probes while the others wait for its report, rather than all probing at once.
    with _cache_lock:
        now = clock()
        if _cached is not None and _cached[0] == digest and now < _cached[1]:
            return _cached[2]
        try:
            report = check_health(probes_for(settings))
        except SettingsError as exc:
            logger.error("health: %s", redact_text(str(exc)))
            return HealthReport({}, problem=_names_only(exc))
        _cached = (digest, clock() + settings.health_cache_seconds, report)
        return report


def forget_cached_health() -> None:
    """Drops the cached report (tests)."""
    global _cached
    with _cache_lock:
        _cached = None


def _names_only(exc: SettingsError) -> str:
    if not exc.settings:
        return "Tunedrop cannot start: an app setting is wrong (the host log says which)"
    return (
        f"Tunedrop cannot start; fix these app settings: {', '.join(exc.settings)} "
        "(the host log says what is wrong with each)"
    )


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
