"""ARM deployments through the real `azure-mgmt-cognitiveservices` client over HTTPS."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

from localdev.emulator import Emulator
from tests.emulator.helpers import arm_client, deployment_of, raw


def test_a_base_model_deploys_through_the_sdk_poller_then_lists_and_deletes(
    emulator: Emulator, arm: CognitiveServicesManagementClient
) -> None:
    group, account = emulator.resource_group, emulator.account_name
    poller = arm.deployments.begin_create_or_update(
        group,
        account,
        "mini-extra",
        deployment_of("gpt-5-mini", "2025-08-07", sku="GlobalStandard", capacity=5),
    )
    created = poller.result()
    assert created.properties.provisioning_state == "Succeeded"
    assert (created.sku.name, created.sku.capacity) == ("GlobalStandard", 5)
    assert created.id.endswith(f"/accounts/{account}/deployments/mini-extra")
    names = {d.name for d in arm.deployments.list(group, account)}
    assert {"gpt-4o-mini", "gpt-4o", "mini-extra"} <= names
    assert (
        arm.deployments.get(group, account, "mini-extra").properties.model.version == "2025-08-07"
    )
    arm.deployments.begin_delete(group, account, "mini-extra").result()
    with pytest.raises(ResourceNotFoundError):
        arm.deployments.get(group, account, "mini-extra")


def test_a_put_answers_201_creating_with_an_azure_async_operation_header(
    emulator: Emulator,
) -> None:
    path = f"{emulator.account_id}/deployments/raw-put"
    body = deployment_of("gpt-5", "2025-08-07").serialize()
    status, headers, answer = raw(emulator, "PUT", path, body=body, plane="arm")
    assert status == 201
    assert answer["properties"]["provisioningState"] == "Creating"
    assert "/operationStatuses/" in headers["Azure-AsyncOperation"]


def test_the_spec_api_version_is_accepted_too(emulator: Emulator) -> None:
    arm = arm_client(emulator, api_version="2026-09-01")
    assert any(
        d.name == "gpt-4o"
        for d in arm.deployments.list(emulator.resource_group, emulator.account_name)
    )


@pytest.mark.parametrize(
    ("deployment", "code", "words"),
    [
        (
            deployment_of("gpt-9-ultra", "1"),
            "DeploymentModelNotSupported",
            "is not supported or does not exist",
        ),
        (
            deployment_of("gpt-5-mini", "2025-08-07", sku="Huge"),
            "InvalidResourceProperties",
            "SKU 'Huge'",
        ),
        (
            deployment_of("gpt-5-mini", "2025-08-07", capacity=0),
            "InvalidResourceProperties",
            "at least 1",
        ),
        (
            deployment_of("gpt-5-mini", "2025-08-07", capacity=5000),
            "InsufficientQuota",
            "5000 new capacity",
        ),
    ],
)
def test_a_deployment_the_service_would_refuse_is_refused_with_its_error(
    emulator: Emulator, arm: CognitiveServicesManagementClient, deployment, code: str, words: str
) -> None:
    with pytest.raises(HttpResponseError) as refused:
        arm.deployments.begin_create_or_update(
            emulator.resource_group, emulator.account_name, "refused", deployment
        )
    assert refused.value.status_code == 400
    assert refused.value.error.code == code
    assert words in refused.value.error.message


def test_another_account_is_not_found(
    emulator: Emulator, arm: CognitiveServicesManagementClient
) -> None:
    with pytest.raises(ResourceNotFoundError) as missing:
        arm.deployments.get(emulator.resource_group, "someone-else", "gpt-4o")
    assert missing.value.error.code == "ResourceNotFound"


def test_a_request_without_a_bearer_token_is_refused_with_401(emulator: Emulator) -> None:
    status, _, body = raw(
        emulator, "GET", f"{emulator.account_id}/deployments", plane="arm", headers={}
    )
    assert status == 401
    assert body["error"]["code"] == "AuthenticationFailed"


def test_an_unknown_arm_api_version_is_refused(emulator: Emulator) -> None:
    path = f"{emulator.account_id}/deployments"
    status, _, body = raw(emulator, "GET", path, plane="arm", query="api-version=1999-01-01")
    assert (status, body["error"]["code"]) == (400, "NoRegisteredProviderFound")
