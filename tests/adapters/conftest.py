"""Real storage clients on the session's Azurite, with a fresh table or container per test."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient

from localdev.emulator import Emulator, Timings, running_emulator
from shared.adapters.table_store import TableRunStore
from shared.bootstrap import build_services
from shared.pipeline.services import Services
from shared.settings import Settings
from tests.emulator.helpers import ROOMY_LIMITS, ROOMY_SETTINGS


@pytest.fixture
def table_store(azurite) -> TableRunStore:
    service = TableServiceClient.from_connection_string(azurite.connection_string)
    return TableRunStore(service.get_table_client(f"runs{uuid.uuid4().hex[:12]}"))


@pytest.fixture
def blob_service(azurite) -> BlobServiceClient:
    return BlobServiceClient.from_connection_string(azurite.connection_string)


@pytest.fixture
def container_names(blob_service) -> tuple[str, str]:
    suffix = uuid.uuid4().hex[:12]
    inbox, reports = f"inbox-{suffix}", f"reports-{suffix}"
    blob_service.create_container(inbox)
    return inbox, reports


class FixedTokenCredential:
    """An Azure credential that always returns the same token (the emulator accepts any)."""

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        return AccessToken("local-test-token", int(time.time()) + 3600)

    def get_token_info(self, *scopes: str, options: object = None) -> AccessTokenInfo:
        return AccessTokenInfo("local-test-token", int(time.time()) + 3600)


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with running_emulator(timings=Timings.fast(), limits=ROOMY_LIMITS) as running:
        yield running


def settings_for(azurite, emulator: Emulator, **extra: str) -> Settings:
    suffix = uuid.uuid4().hex[:10]
    environ = {
        "AzureWebJobsStorage": azurite.connection_string,
        "AZURE_OPENAI_ENDPOINT": emulator.url,
        "AZURE_OPENAI_API_KEY": emulator.api_key,
        "AZURE_SUBSCRIPTION_ID": emulator.subscription_id,
        "AZURE_RESOURCE_GROUP": emulator.resource_group,
        "AZURE_OPENAI_ACCOUNT": emulator.account_name,
        "ARM_ENDPOINT": emulator.arm_url,
        "ARM_CA_BUNDLE": str(emulator.ca_cert_path),
        "INBOX_CONTAINER": f"inbox-{suffix}",
        "REPORTS_CONTAINER": f"reports-{suffix}",
        "RUNS_TABLE": f"runs{suffix}",
        "BASE_DEPLOYMENT": "gpt-4o-mini",
        "SETTLE_SECONDS": "1",
        **ROOMY_SETTINGS,
        **extra,
    }
    return Settings.from_env(environ)


@pytest.fixture
def real_services(azurite, emulator) -> Services:
    """Every real adapter, on Azurite and the emulator, with a fresh table and containers."""
    settings = settings_for(azurite, emulator)
    built = build_services(settings, FixedTokenCredential())
    blobs = BlobServiceClient.from_connection_string(azurite.connection_string)
    blobs.create_container(settings.inbox_container)
    return built
