"""What infra/ creates, read offline from the Bicep files (no Bicep CLI, no Azure)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from localdev.azurite import REPO_ROOT

# The app can be indexed only once per process: reuse the index the binding tests made.
from tests.functions.test_bindings import FUNCTIONS
from tests.infra.bicep import bicep_files, keys_anywhere, parsed, resources, the_resource


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: p.name)
def test_every_bicep_file_parses(path: Path) -> None:
    tree = parsed(path)
    assert tree["resources"] or tree.get("modules"), f"{path.name} declares nothing"


def test_every_module_main_uses_is_a_file_in_infra() -> None:
    modules = parsed(REPO_ROOT / "infra" / "main.bicep")["modules"]
    for name, module in modules.items():
        path = module["detail"]["path"]
        assert module["type"] == "local", f"module {name} is not a local file: checkov skips those"
        assert (REPO_ROOT / "infra" / path).exists(), f"module {name}: {path}"
    used = {(REPO_ROOT / "infra" / m["detail"]["path"]).resolve() for m in modules.values()}
    assert used == {p.resolve() for p in bicep_files() if p.name != "main.bicep"}


def test_storage_takes_only_entra_id_over_https() -> None:
    storage = the_resource("Microsoft.Storage/storageAccounts")["properties"]
    # checkov has no rule for the first two: this test is the check.
    assert storage["allowSharedKeyAccess"] is False
    assert storage["allowBlobPublicAccess"] is False
    assert storage["minimumTlsVersion"] == "TLS1_2"
    assert storage["supportsHttpsTrafficOnly"] is True


def test_storage_holds_the_containers_table_and_queue_the_app_uses() -> None:
    main = parsed(REPO_ROOT / "infra" / "main.bicep")["variables"]
    containers = {
        r["config"]["name"]
        for _, _, r in resources("Microsoft.Storage/storageAccounts/blobServices/containers")
    }
    assert {"inboxContainer", "reportsContainer"} <= containers
    assert main["inboxContainer"]["value"] == "training-inbox"
    assert main["reportsContainer"]["value"] == "training-reports"
    assert main["runsTable"]["value"] == "TunedropRuns"
    assert the_resource("Microsoft.Storage/storageAccounts/tableServices/tables")["name"] == (
        "runsTable"
    )
    queues = {
        r["config"]["name"]
        for _, _, r in resources("Microsoft.Storage/storageAccounts/queueServices/queues")
    }
    assert queues == {
        "webjobs-blobtrigger-poison",
        "eventsQueue",
        "${eventsQueue}-poison",
        "runsQueue",
        "${runsQueue}-poison",
    }
    assert main["eventsQueue"]["value"] == "tunedrop-events"
    assert main["runsQueue"]["value"] == "tunedrop-runs"


def test_the_function_app_runs_python_311_on_flex_consumption_as_the_user_assigned_identity() -> (
    None
):
    plan = the_resource("Microsoft.Web/serverfarms")
    assert plan["sku"] == {"tier": "FlexConsumption", "name": "FC1"}
    site = the_resource("Microsoft.Web/sites")
    assert site["kind"] == "functionapp,linux"
    assert site["identity"]["type"] == "UserAssigned"
    config = site["properties"]["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "3.11"}
    authentication = config["deployment"]["storage"]["authentication"]
    assert authentication["type"] == "UserAssignedIdentity"
    assert site["properties"]["httpsOnly"] is True
    assert "linuxFxVersion" not in keys_anywhere(site), "Flex Consumption refuses linuxFxVersion"
    assert len(resources("Microsoft.ManagedIdentity/userAssignedIdentities")) == 1


def test_azure_openai_takes_no_keys_and_has_its_own_subdomain() -> None:
    account = the_resource("Microsoft.CognitiveServices/accounts")
    assert account["kind"] == "OpenAI"
    assert account["properties"]["disableLocalAuth"] is True
    assert account["properties"]["customSubDomainName"] == "name"


def test_application_insights_takes_only_entra_id_telemetry() -> None:
    component = the_resource("Microsoft.Insights/components")
    assert component["properties"]["DisableLocalAuth"] is True
    assert the_resource("Microsoft.OperationalInsights/workspaces")


def test_the_event_grid_system_topic_is_on_the_storage_account() -> None:
    topic = the_resource("Microsoft.EventGrid/systemTopics")
    assert topic["properties"]["topicType"] == "Microsoft.Storage.StorageAccounts"


def test_azd_deploys_the_function_service_to_the_app_bicep_tags() -> None:
    project = yaml.safe_load((REPO_ROOT / "azure.yaml").read_text())
    assert list(project["services"]) == ["function"]
    service = project["services"]["function"]
    assert (service["language"], service["host"], service["project"]) == ("python", "function", ".")
    tags = the_resource("Microsoft.Web/sites")["tags"]
    # `union(tags, {...})`: the literal object is the function's second argument.
    literal = tags["function"]["parameters"]["arg_2"]
    assert {key.strip("'"): value for key, value in literal.items()} == {
        "azd-service-name": next(iter(project["services"]))
    }
    assert project["hooks"]["postdeploy"]["posix"]["run"] == "./dev postdeploy"


def test_every_blob_trigger_declares_the_event_grid_source() -> None:
    triggers = [
        json.loads(f.get_function_json())["bindings"][0]
        for f in FUNCTIONS.values()
        if f.get_trigger().get_dict_repr()["type"] == "blobTrigger"
    ]
    assert triggers, "the app has no blob trigger"
    for trigger in triggers:
        assert trigger.get("source") == "EventGrid", trigger


def test_main_outputs_what_the_readme_and_the_hook_need() -> None:
    outputs = parsed(REPO_ROOT / "infra" / "main.bicep")["outputs"]
    needed = {
        "AZURE_RESOURCE_GROUP", "AZURE_FUNCTION_APP_NAME", "FUNCTION_API_URL",
        "EVENT_GRID_SYSTEM_TOPIC", "INBOX_CONTAINER", "BLOB_TRIGGER_FUNCTION",
        "AZURE_STORAGE_ACCOUNT_NAME",
    }  # fmt: skip
    assert needed <= set(outputs)
    assert outputs["BLOB_TRIGGER_FUNCTION"]["value"] == "validate_dropped_file"
