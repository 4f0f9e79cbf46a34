"""The app's identity gets exactly the roles it needs, each on the one resource it needs it on:
no Owner, no Contributor, nothing at resource-group or subscription scope. Two other principals
get one data role each: the Event Grid system topic (writes dead letters into their container)
and, when azd passes one, the person deploying (drops files into the inbox)."""

from __future__ import annotations

import json

from localdev.azurite import REPO_ROOT
from tests.infra.bicep import parsed, resources

STORAGE = "Microsoft.Storage/storageAccounts"
EXPECTED = {
    ("b7e6dc6d-f1e8-4753-8033-0f276bb0955b", STORAGE),  # Storage Blob Data Owner
    ("974c5e8b-45b9-4653-ba55-5f855dd0fb88", STORAGE),  # Storage Queue Data Contributor
    ("0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3", STORAGE),  # Storage Table Data Contributor
    # Monitoring Metrics Publisher
    ("3913510d-42f4-4e42-8a64-420c390055eb", "Microsoft.Insights/components"),
    # Cognitive Services OpenAI Contributor
    ("a001fd3d-188f-4b5d-821b-7da978bf7442", "Microsoft.CognitiveServices/accounts"),
}
BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
OTHERS = {
    "deployer-role.bicep": (BLOB_DATA_CONTRIBUTOR, STORAGE),
    "eventgrid.bicep": (BLOB_DATA_CONTRIBUTOR, f"{STORAGE}/blobServices/containers"),
}
APP_IDENTITY_FILES = {"roles.bicep", "openai-role.bicep"}
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"


def assignments(files: set[str] | None = None) -> list[tuple[str, str]]:
    """(role definition id, type of the resource it is scoped to) for every role assignment (in
    those files only, if given)."""
    found = []
    for path, name, resource in resources("Microsoft.Authorization/roleAssignments"):
        if files is not None and path.name not in files:
            continue
        tree = parsed(path)
        config = resource["config"]
        role = config["properties"]["roleDefinitionId"]["function"]
        assert role["type"] == "subscription_resource_id", f"{name}: a built-in role id"
        variable = role["parameters"]["resource_name_1"]
        role_id = tree["variables"][variable]["value"]
        scope = config.get("scope")
        assert isinstance(scope, str), f"{path.name}:{name} must be scoped to one resource"
        found.append((role_id, tree["resources"][scope]["type"]))
    return found


def test_the_identity_gets_exactly_the_roles_it_needs_on_the_resources_that_need_them() -> None:
    found = assignments(APP_IDENTITY_FILES)
    assert len(found) == len(set(found)), "a role is assigned twice"
    assert set(found) == EXPECTED


def test_no_role_is_owner_or_contributor() -> None:
    assert not {role for role, _ in assignments()} & {OWNER, CONTRIBUTOR}


def test_every_assignment_is_for_the_apps_identity_as_a_service_principal() -> None:
    for path, name, resource in resources("Microsoft.Authorization/roleAssignments"):
        if path.name not in APP_IDENTITY_FILES:
            continue
        properties = resource["config"]["properties"]
        assert properties["principalType"] == "ServicePrincipal", name
        assert properties["principalId"] == "principalId", name


def test_the_topic_and_the_deployer_get_one_blob_data_role_each_and_nothing_else() -> None:
    files = {path.name for path, _, _ in resources("Microsoft.Authorization/roleAssignments")}
    assert files == APP_IDENTITY_FILES | set(OTHERS)
    for file, expected in OTHERS.items():
        assert assignments({file}) == [expected], file


def test_the_deployer_role_is_made_only_when_azd_passes_a_principal() -> None:
    main = parsed(REPO_ROOT / "infra" / "main.bicep")
    module = main["modules"]["deployerRole"]
    assert module["detail"]["path"] == "modules/deployer-role.bicep"
    condition = module["config"]["condition"]["operator"]
    assert condition["type"] == "not"
    assert condition["operands"]["bool_value"]["function"] == {
        "type": "empty",
        "parameters": {"item_to_test": "principalId"},
    }
    assert main["parameters"]["principalId"]["default"] == ""
    mapped = json.loads((REPO_ROOT / "infra" / "main.parameters.json").read_text())["parameters"]
    assert mapped["principalId"]["value"] == "${AZURE_PRINCIPAL_ID=}"
