"""Deployment tags through ARM: kept on PUT, returned by GET and list, replaced by a later PUT.

Tunedrop tags each deployment it creates with `tunedrop-run: <run>` and relies on reading the tag
back to tell its own deployments from anyone else's.
"""

from __future__ import annotations

from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

from localdev.emulator import Emulator
from tests.emulator.helpers import deployment_of, raw


def test_tags_sent_with_a_put_come_back_from_get_and_list(
    emulator: Emulator, arm: CognitiveServicesManagementClient
) -> None:
    group, account = emulator.resource_group, emulator.account_name
    body = deployment_of("gpt-5-mini", "2025-08-07")
    body.tags = {"tunedrop-run": "kitsune-1", "owner": "tests"}
    created = arm.deployments.begin_create_or_update(group, account, "tagged", body).result()
    assert created.tags == {"tunedrop-run": "kitsune-1", "owner": "tests"}
    assert arm.deployments.get(group, account, "tagged").tags["tunedrop-run"] == "kitsune-1"
    listed = {d.name: d.tags for d in arm.deployments.list(group, account)}
    assert listed["tagged"] == {"tunedrop-run": "kitsune-1", "owner": "tests"}
    assert not listed["gpt-4o"]  # a deployment created without tags has none
    arm.deployments.begin_delete(group, account, "tagged").result()


def test_a_second_put_replaces_the_tags_as_a_put_replaces_the_resource(
    emulator: Emulator, arm: CognitiveServicesManagementClient
) -> None:
    group, account = emulator.resource_group, emulator.account_name
    first = deployment_of("gpt-5", "2025-08-07")
    first.tags = {"tunedrop-run": "first"}
    arm.deployments.begin_create_or_update(group, account, "retagged", first).result()
    second = deployment_of("gpt-5", "2025-08-07", capacity=2)
    second.tags = {"tunedrop-run": "second"}
    updated = arm.deployments.begin_create_or_update(group, account, "retagged", second).result()
    assert (updated.sku.capacity, updated.tags) == (2, {"tunedrop-run": "second"})
    untagged = arm.deployments.begin_create_or_update(
        group, account, "retagged", deployment_of("gpt-5", "2025-08-07")
    ).result()
    assert not untagged.tags
    arm.deployments.begin_delete(group, account, "retagged").result()


def test_tags_that_are_not_strings_are_refused_with_the_arm_error(emulator: Emulator) -> None:
    body = deployment_of("gpt-5", "2025-08-07").serialize()
    body["tags"] = {"tunedrop-run": 7}
    path = f"{emulator.account_id}/deployments/bad-tags"
    status, _, answer = raw(emulator, "PUT", path, body=body, plane="arm")
    assert status == 400
    assert answer["error"]["code"] == "InvalidRequestContent"
    assert "'tags'" in answer["error"]["message"]
