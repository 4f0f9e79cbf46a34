"""The app's identity gets exactly the roles it needs, each on the one resource it needs it on:
no Owner, no Contributor, nothing at resource-group or subscription scope."""

from __future__ import annotations

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
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"


def assignments() -> list[tuple[str, str]]:
    """(role definition id, type of the resource it is scoped to) for every role assignment."""
    found = []
    for path, name, resource in resources("Microsoft.Authorization/roleAssignments"):
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
    found = assignments()
    assert len(found) == len(set(found)), "a role is assigned twice"
    assert set(found) == EXPECTED


def test_no_role_is_owner_or_contributor() -> None:
    assert not {role for role, _ in assignments()} & {OWNER, CONTRIBUTOR}


def test_every_assignment_is_for_the_apps_identity_as_a_service_principal() -> None:
    for _, name, resource in resources("Microsoft.Authorization/roleAssignments"):
        properties = resource["config"]["properties"]
        assert properties["principalType"] == "ServicePrincipal", name
        assert properties["principalId"] == "principalId", name
