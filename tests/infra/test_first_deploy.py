"""What a first `azd up` in a real subscription needs from infra/, checked against Microsoft's Flex
Consumption azd samples (Azure-Samples/functions-quickstart-python-http-azd and
functions-quickstart-python-azd-eventgrid-blob): read offline from the Bicep files."""

from __future__ import annotations

import json
from typing import Any

from localdev.azurite import REPO_ROOT
from tests.infra.bicep import parsed, resources, the_resource

MAIN = REPO_ROOT / "infra" / "main.bicep"


def decorator(parameter: dict[str, Any], kind: str) -> Any:
    return next((d["argument"] for d in parameter["decorators"] if d["type"] == kind), None)


def test_site_config_holds_only_what_flex_consumption_accepts() -> None:
    # ARM refuses other site configuration on Flex sites (error 51021), ftpsState in newer regions.
    site = the_resource("Microsoft.Web/sites")
    assert site["properties"]["siteConfig"] == {"minTlsVersion": "1.2"}
    assert not resources("Microsoft.Web/sites/config") or all(
        r["config"]["name"] == "appsettings" for _, _, r in resources("Microsoft.Web/sites/config")
    ), "no sites/config 'web' sneaking the same properties back in"


def test_the_app_region_is_an_azd_location_among_the_flex_consumption_regions() -> None:
    location = parsed(MAIN)["parameters"]["location"]
    assert decorator(location, "metadata") == {"azd": {"type": "location"}}
    allowed = decorator(location, "allowed")
    assert {"eastus", "swedencentral", "northcentralus", "westeurope"} <= set(allowed)
    assert not [region for region in allowed if region.endswith("euap")], "no canary regions"
    assert allowed == sorted(allowed) and len(allowed) == len(set(allowed))


def test_the_function_app_waits_for_its_roles() -> None:
    modules = parsed(MAIN)["modules"]
    assert set(modules["functionApp"]["config"]["dependsOn"]) == {
        "appRoles",
        "openAiRole",
        "poolRoles",  # the pool's accounts (openAiPool), one role each
    }
    assert modules["appRoles"]["detail"]["path"] == "modules/roles.bicep"
    assert modules["openAiRole"]["detail"]["path"] == "modules/openai-role.bicep"


def property_path(tree: Any) -> list[str]:
    """`a.b.c` as pycep nests it, flattened: ["a", "b", "c"]."""
    if isinstance(tree, str):
        return [tree]
    operands = tree["operator"]["operands"]
    return property_path(operands["operand_1"]) + property_path(operands["operand_2"])


def test_the_endpoint_is_read_from_the_account_for_an_existing_one_in_its_own_group() -> None:
    main = parsed(MAIN)
    endpoint = main["modules"]["functionApp"]["config"]["params"]["openAiEndpoint"]
    text = json.dumps(endpoint)
    assert "openai.azure.com" not in text, "an existing account's subdomain may differ"
    branches = endpoint["operator"]["operands"]
    assert property_path(branches["true_value"]) == ["existingOpenAi", "outputs", "endpoint"]
    assert property_path(branches["false_value"]) == ["openAi", "outputs", "endpoint"]
    existing = main["modules"]["existingOpenAi"]
    assert existing["detail"]["path"] == "modules/openai-existing.bicep"
    scope = existing["config"]["config"]["scope"]["function"]
    assert scope["type"] == "resource_group"
    assert scope["parameters"]["resource_group_name"] == "openAiGroupName"
    account = parsed(REPO_ROOT / "infra" / "modules" / "openai-existing.bicep")
    assert account["resources"]["account"]["existing"] is True
    for module in ("openai-existing.bicep", "openai.bicep"):
        output = parsed(REPO_ROOT / "infra" / "modules" / module)["outputs"]["endpoint"]
        assert property_path(output["value"]) == ["account", "properties", "endpoint"], module


def test_the_openai_group_is_the_existing_accounts_when_one_is_named() -> None:
    group = parsed(MAIN)["variables"]["openAiGroupName"]["value"]["operator"]["operands"]
    assert group["true_value"] == "existingOpenAiResourceGroup"
    assert group["false_value"] == "resourceGroupName"


def test_outputs_give_the_hooks_their_tenant_and_the_dead_letter_container() -> None:
    outputs = parsed(MAIN)["outputs"]
    tenant = outputs["AZURE_TENANT_ID"]["value"]["operator"]["operands"]
    assert tenant == {"operand_1": {"function": {"type": "tenant"}}, "operand_2": "tenantId"}
    assert outputs["EVENT_GRID_DEADLETTER_CONTAINER"]["value"] == "deadLetterContainer"
    assert parsed(MAIN)["variables"]["deadLetterContainer"]["value"] == "eventgrid-deadletter"
    containers = {
        r["config"]["name"]
        for _, _, r in resources("Microsoft.Storage/storageAccounts/blobServices/containers")
    }
    assert "deadLetterContainer" in containers


def test_the_system_topic_has_an_identity_to_write_dead_letters_with() -> None:
    topic = the_resource("Microsoft.EventGrid/systemTopics")
    assert topic["identity"] == {"type": "SystemAssigned"}
