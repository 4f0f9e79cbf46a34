import pytest

from shared.errors import SettingsError
from shared.settings import Settings

MINIMAL = {
    "AzureWebJobsStorage": "UseDevelopmentStorage=true",
    "AZURE_OPENAI_ENDPOINT": "https://example.openai.azure.com/",
    "AZURE_SUBSCRIPTION_ID": "sub",
    "AZURE_RESOURCE_GROUP": "rg",
    "AZURE_OPENAI_ACCOUNT": "acct",
}


def test_minimal_settings_fill_every_other_value_with_its_default() -> None:
    settings = Settings.from_env(MINIMAL)
    assert settings.openai_endpoint == "https://example.openai.azure.com"
    assert settings.inbox_container == "training-inbox"
    assert settings.reports_container == "training-reports"
    assert settings.settle_seconds == 60.0
    assert settings.deploy_ttl_hours == 24.0
    assert settings.arm_endpoint == "https://management.azure.com"


def test_every_missing_or_malformed_setting_is_named_in_one_message() -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(
            {"SETTLE_SECONDS": "soon", "INBOX_CONTAINER": "Bad_Name", "DEPLOY_CAPACITY": "0"}
        )
    message = str(raised.value)
    for expected in (
        "AzureWebJobsStorage is missing",
        "AZURE_OPENAI_ENDPOINT is missing",
        "AZURE_SUBSCRIPTION_ID is missing",
        "AZURE_RESOURCE_GROUP is missing",
        "AZURE_OPENAI_ACCOUNT is missing",
        "SETTLE_SECONDS must be a float, not 'soon'",
        "INBOX_CONTAINER 'Bad_Name' is not a valid name",
        "DEPLOY_CAPACITY must be greater than 0",
    ):
        assert expected in message


def test_managed_identity_storage_needs_only_the_account_name() -> None:
    env = {**MINIMAL, "AzureWebJobsStorage": "", "AzureWebJobsStorage__accountName": "tunedropsa"}
    settings = Settings.from_env(env)
    assert settings.uses_storage_identity
    assert settings.blob_account_url == "https://tunedropsa.blob.core.windows.net"


def test_secrets_are_masked_when_settings_are_printed() -> None:
    env = {**MINIMAL, "AZURE_OPENAI_API_KEY": "super-secret-key"}
    shown = repr(Settings.from_env(env))
    assert "super-secret-key" not in shown
    assert "UseDevelopmentStorage" not in shown
    assert "openai_api_key='***'" in shown
