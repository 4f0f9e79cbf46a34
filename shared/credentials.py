"""The one place Tunedrop gets its Entra ID credentials from.

In Azure that is `DefaultAzureCredential` (the Function App's managed identity; a user-assigned
one is named by `AZURE_CLIENT_ID`). Storage follows the Functions host's connection settings:
`AzureWebJobsStorage__credential=managedidentity` with `AzureWebJobsStorage__clientId` asks for
that managed identity only. Against the
local emulator, the setting `TUNEDROP_LOCAL_BEARER_TOKEN` gives a fixed token instead; it is
refused for any endpoint that is not on loopback, so it can never stand in for a real login.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from azure.core.credentials import AccessToken, AccessTokenInfo, TokenCredential

from shared.errors import SettingsError
from shared.settings import Settings

LOCAL_TOKEN_SETTING = "TUNEDROP_LOCAL_BEARER_TOKEN"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class FixedTokenCredential:
    """Hands out one fixed bearer token; for the loopback emulator and tests only."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "FixedTokenCredential(token=***)"

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        return AccessToken(self._token, int(time.time()) + 3600)

    def get_token_info(self, *scopes: str, options: object = None) -> AccessTokenInfo:
        return AccessTokenInfo(self._token, int(time.time()) + 3600)


def is_loopback(url: str) -> bool:
    return (urlsplit(url).hostname or "") in LOOPBACK_HOSTS


def app_credential(settings: Settings) -> TokenCredential:
    """The credential for Azure OpenAI, ARM and storage, chosen from the settings."""
    token = settings.extra.get(LOCAL_TOKEN_SETTING, "")
    if not token:
        from azure.identity import DefaultAzureCredential  # late: heavy, and unused locally

        return DefaultAzureCredential(managed_identity_client_id=settings.azure_client_id or None)
    remote = [
        url for url in (settings.openai_endpoint, settings.arm_endpoint) if not is_loopback(url)
    ]
    if remote:
        raise SettingsError(
            f"{LOCAL_TOKEN_SETTING} is only for the local emulator, but these endpoints are not "
            f"on loopback: {', '.join(remote)}; remove the setting to use managed identity"
        )
    return FixedTokenCredential(token)


def storage_credential(settings: Settings, app: TokenCredential) -> TokenCredential:
    """The credential for storage: the managed identity the `AzureWebJobsStorage__credential`
    and `__clientId` settings name, as the Functions host uses them, else the app's."""
    if settings.storage_credential != "managedidentity" and not settings.storage_client_id:
        return app
    from azure.identity import ManagedIdentityCredential  # late: heavy, and unused locally

    client_id = settings.storage_client_id or settings.azure_client_id or None
    return ManagedIdentityCredential(client_id=client_id)
