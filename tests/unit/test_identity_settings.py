"""Every connection works with a managed identity: the Functions host's identity-based storage
settings and AZURE_CLIENT_ID are honoured, with no connection string, key or secret.

The identity is asked for its token through the real `azure-identity` credentials, talking to a
local stand-in for the App Service managed identity endpoint (`IDENTITY_ENDPOINT`), which records
which client id each token was asked for.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from shared.credentials import app_credential, storage_credential
from shared.errors import SettingsError
from shared.settings import Settings

STORAGE_CLIENT = "11111111-1111-1111-1111-111111111111"
APP_CLIENT = "22222222-2222-2222-2222-222222222222"
AZURE = {
    "AZURE_OPENAI_ENDPOINT": "https://tunedrop.openai.azure.com",
    "AZURE_SUBSCRIPTION_ID": "sub",
    "AZURE_RESOURCE_GROUP": "rg",
    "AZURE_OPENAI_ACCOUNT": "tunedrop",
}
URIS = {
    "AzureWebJobsStorage__blobServiceUri": "https://sa.blob.core.windows.net/",
    "AzureWebJobsStorage__queueServiceUri": "https://sa.queue.core.windows.net/",
    "AzureWebJobsStorage__tableServiceUri": "https://sa.table.core.windows.net/",
}


class IdentityEndpoint(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.client_ids: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/msi/token"


class _Handler(BaseHTTPRequestHandler):
    server: IdentityEndpoint

    def log_message(self, *_: object) -> None:
        pass

    def do_GET(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        self.server.client_ids.append(query.get("client_id", [""])[0])
        body = json.dumps(
            {
                "access_token": "token-for-" + query.get("client_id", ["system"])[0],
                "expires_on": str(int(time.time()) + 3600),
                "resource": query.get("resource", [""])[0],
                "token_type": "Bearer",
            }
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def identity(monkeypatch: pytest.MonkeyPatch) -> Iterator[IdentityEndpoint]:
    server = IdentityEndpoint()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "MSI_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IDENTITY_ENDPOINT", server.url)
    monkeypatch.setenv("IDENTITY_HEADER", "header")
    yield server
    server.shutdown()
    server.server_close()


def test_the_storage_service_uris_are_where_blobs_and_tables_are_reached() -> None:
    settings = Settings.from_env(
        {**AZURE, **URIS, "AzureWebJobsStorage__credential": "managedidentity"}
    )
    assert settings.uses_storage_identity
    assert settings.blob_account_url == "https://sa.blob.core.windows.net"
    assert settings.table_account_url == "https://sa.table.core.windows.net"


def test_the_account_name_alone_gives_the_public_cloud_uris() -> None:
    settings = Settings.from_env({**AZURE, "AzureWebJobsStorage__accountName": "tunedropsa"})
    assert settings.blob_account_url == "https://tunedropsa.blob.core.windows.net"
    assert settings.table_account_url == "https://tunedropsa.table.core.windows.net"


def test_service_uris_without_an_account_name_must_all_be_set() -> None:
    partial = {
        **AZURE,
        "AzureWebJobsStorage__blobServiceUri": URIS["AzureWebJobsStorage__blobServiceUri"],
    }
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(partial)
    assert "AzureWebJobsStorage__queueServiceUri is missing" in str(raised.value)
    assert "AzureWebJobsStorage__tableServiceUri is missing" in str(raised.value)


def test_an_unknown_storage_credential_kind_is_named() -> None:
    with pytest.raises(
        SettingsError, match="AzureWebJobsStorage__credential must be 'managedidentity'"
    ):
        Settings.from_env({**AZURE, **URIS, "AzureWebJobsStorage__credential": "key"})


def test_storage_asks_the_managed_identity_its_client_id_names(identity: IdentityEndpoint) -> None:
    settings = Settings.from_env(
        {**AZURE, **URIS, "AzureWebJobsStorage__credential": "managedidentity",
         "AzureWebJobsStorage__clientId": STORAGE_CLIENT, "AZURE_CLIENT_ID": APP_CLIENT}
    )  # fmt: skip
    credential = storage_credential(settings, app_credential(settings))
    token = credential.get_token("https://storage.azure.com/.default")
    assert token.token == f"token-for-{STORAGE_CLIENT}"
    assert identity.client_ids == [STORAGE_CLIENT]


def test_storage_falls_back_to_azure_client_id_when_no_storage_client_id_is_set(
    identity: IdentityEndpoint,
) -> None:
    settings = Settings.from_env(
        {**AZURE, **URIS, "AzureWebJobsStorage__credential": "managedidentity",
         "AZURE_CLIENT_ID": APP_CLIENT}
    )  # fmt: skip
    storage_credential(settings, app_credential(settings)).get_token(
        "https://storage.azure.com/.default"
    )
    assert identity.client_ids == [APP_CLIENT]


def test_azure_openai_and_arm_use_the_user_assigned_identity_of_azure_client_id(
    identity: IdentityEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings.from_env({**AZURE, **URIS, "AZURE_CLIENT_ID": APP_CLIENT})
    monkeypatch.setenv("AZURE_CLIENT_ID", APP_CLIENT)  # as the Function App's settings are
    token = app_credential(settings).get_token("https://cognitiveservices.azure.com/.default")
    assert token.token == f"token-for-{APP_CLIENT}"
    assert identity.client_ids[-1] == APP_CLIENT


def test_the_event_delivery_queue_and_table_use_the_service_uris_and_the_storage_identity(
    identity: IdentityEndpoint,
) -> None:
    from shared.bootstrap import build_notifier

    settings = Settings.from_env(
        {**AZURE, **URIS, "AzureWebJobsStorage__credential": "managedidentity",
         "AzureWebJobsStorage__clientId": STORAGE_CLIENT}
    )  # fmt: skip
    notifier = build_notifier(settings, app_credential(settings))
    queue = notifier.queue._queue  # type: ignore[attr-defined]
    assert queue.url == "https://sa.queue.core.windows.net/tunedrop-events"
    queue.credential.get_token("https://storage.azure.com/.default")
    assert identity.client_ids == [STORAGE_CLIENT]
