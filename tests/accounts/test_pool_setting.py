"""AZURE_OPENAI_ACCOUNTS: the pool of accounts, and the single-account settings as a pool of one."""

from __future__ import annotations

import json

import pytest

from shared.accounts import parse_accounts
from shared.errors import SettingsError
from shared.runs.limits import AccountLimits
from shared.settings import Settings

BASE = {
    "AzureWebJobsStorage": "UseDevelopmentStorage=true",
    "AZURE_OPENAI_ENDPOINT": "https://solo.openai.azure.com",
    "AZURE_SUBSCRIPTION_ID": "sub",
    "AZURE_RESOURCE_GROUP": "rg",
    "AZURE_OPENAI_ACCOUNT": "solo",
}


def entry(name: str, **changes: object) -> dict[str, object]:
    account = {
        "name": name, "endpoint": f"https://{name}.openai.azure.com", "subscription": "sub",
        "resource_group": "rg", "account": name, "region": "swedencentral",
    }  # fmt: skip
    account.update(changes)
    return account


def test_without_the_setting_the_single_account_is_a_pool_of_one() -> None:
    settings = Settings.from_env(BASE)
    (only,) = settings.pool
    assert (only.name, only.endpoint, only.account) == (
        "solo",
        BASE["AZURE_OPENAI_ENDPOINT"],
        "solo",
    )
    assert only.can_train("anything", "standard")


def test_a_pool_needs_no_single_account_settings_and_reads_every_field() -> None:
    pool = [
        entry("east", models={"gpt-4.1-mini": ["standard"]}, limits={"deployments": 2}),
        entry("west"),
    ]
    environ = {"AzureWebJobsStorage": "UseDevelopmentStorage=true"}
    settings = Settings.from_env({**environ, "AZURE_OPENAI_ACCOUNTS": json.dumps(pool)})
    east, west = settings.pool
    assert [east.name, west.name] == ["east", "west"]
    assert east.region == "swedencentral"
    assert east.can_train("gpt-4.1-mini", "standard")
    assert not east.can_train("gpt-4.1-mini", "global")
    assert not east.can_train("gpt-4o-mini", "standard")
    assert east.limits_over(AccountLimits(running_jobs=3)) == AccountLimits(3, deployments=2)
    assert settings.openai_endpoint == east.endpoint  # the first account stands in for the rest


@pytest.mark.parametrize(
    ("pool", "named"),
    [
        ([entry("a", endpoint="ftp://x")], "entry 0 ('a'): endpoint"),
        ([entry("a"), entry("b", subscription="")], "entry 1 ('b'): subscription"),
        ([entry("a"), {"endpoint": "https://x"}], "entry 1: name"),
        ([entry("a", models={"m": ["fast"]})], "entry 0 ('a'): models.m"),
        ([entry("a", limits={"deployments": 0})], "entry 0 ('a'): limits.deployments"),
        ([entry("a", limits={"slots": 1})], "entry 0 ('a'): limits.slots"),
        ([entry("a", colour="red")], "entry 0 ('a'): unknown field 'colour'"),
        ([entry("a"), entry("a")], "entry 1 ('a'): name is used twice"),
        (["a"], "entry 0 must be a JSON object"),
        ([], "non-empty JSON list"),
    ],
)
def test_a_bad_entry_is_named_by_index_name_and_field(pool: object, named: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({**BASE, "AZURE_OPENAI_ACCOUNTS": json.dumps(pool)})
    assert named in str(raised.value)
    assert "AZURE_OPENAI_ACCOUNTS" in raised.value.settings


def test_malformed_json_says_where() -> None:
    problems: list[str] = []
    assert parse_accounts('[{"name": ', problems) == ()
    assert problems and "not valid JSON" in problems[0] and "line 1" in problems[0]
