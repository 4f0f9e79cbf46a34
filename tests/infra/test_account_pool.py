"""The pool parameter (`openAiPool`, regions and names): each pool account is created and gets
the app's role, and the app settings carry the list. Offline: the Bicep's own expressions for
AZURE_OPENAI_ACCOUNTS are evaluated for a two-account pool and read by the app's settings."""

from __future__ import annotations

import json
import re
from typing import Any

from shared.settings import Settings
from tests.infra.bicep import INFRA, app_settings, parsed

MAIN = INFRA / "main.bicep"
APP = INFRA / "modules" / "functionapp.bicep"
TWO = [
    {"name": "tunedrop-east-1", "location": "eastus2"},
    {"name": "tunedrop-north-1", "location": "northcentralus"},
]
DEPLOYMENT = {  # what ARM knows when the function app's module runs
    "subscription": "11111111-2222-3333-4444-555555555555",
    "resource_group": "rg-tunedrop",
    "openAiAccount": "oai-first",
    "openAiEndpoint": "https://oai-first.openai.azure.com/",
    "openAiResourceGroup": "rg-tunedrop",
    "openAiLocation": "swedencentral",
}


def evaluate(tree: Any, scope: dict[str, Any]) -> Any:
    """The few Bicep expressions the pool's list uses: names, property access on a loop item,
    subscription().subscriptionId, resourceGroup().name and `${...}` interpolation."""
    if isinstance(tree, str):
        if tree in scope:
            return scope[tree]
        return re.sub(r"\$\{(\w+)\.(\w+)\}", lambda m: scope[m.group(1)][m.group(2)], tree)
    if isinstance(tree, dict) and "operator" in tree:
        operands = tree["operator"]["operands"]
        owner, key = operands["operand_1"], operands["operand_2"]
        if isinstance(owner, dict) and owner.get("function", {}).get("type") == "subscription":
            return DEPLOYMENT["subscription"]
        if isinstance(owner, dict) and owner.get("function", {}).get("type") == "resource_group":
            return DEPLOYMENT["resource_group"]
        return scope[owner][key]
    if isinstance(tree, dict):
        return {key: evaluate(value, scope) for key, value in tree.items()}
    return tree


def accounts_setting(pool: list[dict[str, str]]) -> list[dict[str, Any]]:
    variables = parsed(APP)["variables"]
    loop = variables["poolAccounts"]["value"]
    assert loop["loop_type"]["detail"]["array_name"] == "openAiPool"
    item = loop["loop_type"]["detail"]["item_name"]
    others = [evaluate(loop["config"], {**DEPLOYMENT, item: account}) for account in pool]
    first = evaluate(variables["firstAccount"]["value"], DEPLOYMENT)
    return [first, *others]


def test_a_two_account_pool_becomes_an_accounts_setting_the_app_accepts() -> None:
    accounts = accounts_setting(TWO)
    settings = Settings.from_env(
        {"AzureWebJobsStorage": "UseDevelopmentStorage=true",
         "AZURE_OPENAI_ACCOUNTS": json.dumps(accounts)}
    )  # fmt: skip
    pool = settings.pool
    assert [a.name for a in pool] == ["oai-first", "tunedrop-east-1", "tunedrop-north-1"]
    assert [a.region for a in pool] == ["swedencentral", "eastus2", "northcentralus"]
    assert pool[1].endpoint == "https://tunedrop-east-1.openai.azure.com"
    assert {a.subscription for a in pool} == {DEPLOYMENT["subscription"]}


def test_the_app_settings_carry_the_list_and_no_pool_means_no_setting() -> None:
    value = app_settings()["AZURE_OPENAI_ACCOUNTS"]
    assert value == "openAiAccounts"
    chosen = parsed(APP)["variables"]["openAiAccounts"]["value"]["operator"]["operands"]
    assert chosen["condition"]["function"]["parameters"]["item_to_test"] == "openAiPool"
    assert chosen["true_value"] == ""  # without a pool the single-account settings apply


def test_each_pool_account_is_created_in_its_region_and_gets_the_apps_role() -> None:
    modules = parsed(MAIN)["modules"]
    params = parsed(MAIN)["parameters"]
    assert params["openAiPool"]["type"] == "array"
    accounts, roles = modules["poolAccounts"], modules["poolRoles"]
    assert accounts["detail"]["path"] == "modules/openai.bicep"
    assert roles["detail"]["path"] == "modules/openai-role.bicep"
    for module in (accounts, roles):
        assert module["config"]["loop_type"]["detail"]["array_name"] == "openAiPool"
    created = accounts["config"]["config"]["params"]
    assert evaluate(created["location"], {"account": TWO[0]}) == "eastus2"
    assert evaluate(created["name"], {"account": TWO[0]}) == "tunedrop-east-1"
    role = roles["config"]["config"]["params"]
    assert evaluate(role["openAiName"], {"account": TWO[1]}) == "tunedrop-north-1"
    principal = json.dumps(role["principalId"])
    assert '"identity"' in principal and '"principalId"' in principal  # the app's identity
    assert modules["functionApp"]["config"]["params"]["openAiPool"] == "openAiPool"
