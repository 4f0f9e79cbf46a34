import pytest

from shared.credentials import FixedTokenCredential, app_credential
from shared.errors import SettingsError
from shared.settings import Settings

LOCAL = {
    "AzureWebJobsStorage": "UseDevelopmentStorage=true",
    "AZURE_OPENAI_ENDPOINT": "http://127.0.0.1:8181",
    "ARM_ENDPOINT": "https://127.0.0.1:8182",
    "AZURE_SUBSCRIPTION_ID": "sub",
    "AZURE_RESOURCE_GROUP": "rg",
    "AZURE_OPENAI_ACCOUNT": "acct",
    "TUNEDROP_LOCAL_BEARER_TOKEN": "local-token",
}


def test_local_token_is_used_against_the_loopback_emulator() -> None:
    credential = app_credential(Settings.from_env(LOCAL))
    assert isinstance(credential, FixedTokenCredential)
    assert credential.get_token("scope").token == "local-token"
    assert "local-token" not in repr(credential)


def test_local_token_is_refused_for_real_azure_endpoints() -> None:
    remote = {**LOCAL, "ARM_ENDPOINT": "https://management.azure.com"}
    with pytest.raises(SettingsError, match=r"only for the local emulator.*management\.azure\.com"):
        app_credential(Settings.from_env(remote))
