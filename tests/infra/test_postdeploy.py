"""The postdeploy hook subscribes the blobs webhook to the storage system topic, for BlobCreated in
the inbox only, waits for the webhook's key that appears after deployment, and PUTs the
subscription every time (with the current key, a retry policy and a dead-letter container)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from azure.mgmt.eventgrid import EventGridManagementClient

from hooks.postdeploy import (
    BLOB_CREATED,
    SUBSCRIPTION_NAME,
    ArmEventSubscriptions,
    HookError,
    Target,
    WebhookSubscription,
    main,
    subscribe_inbox,
)
from tests.infra.fake_arm import FakeArm, FixedToken

TARGET = Target(
    subscription_id="sub",
    resource_group="rg-tunedrop",
    function_app="func-abc",
    system_topic="evgt-abc",
    container="training-inbox",
    function_name="validate_dropped_file",
    storage_account="stabc",
    dead_letter_container="eventgrid-deadletter",
)
HOST = "func-abc.azurewebsites.net"


@dataclass
class FakeFunctionApps:
    """A freshly deployed app: its blobs_extension key appears after `missing_for` asks."""

    missing_for: int = 0
    key: str = "system-key"
    asked: int = 0

    def host_name(self, resource_group: str, app: str) -> str:
        assert (resource_group, app) == (TARGET.resource_group, TARGET.function_app)
        return HOST

    def system_key(self, resource_group: str, app: str, key_name: str) -> str | None:
        assert key_name == "blobs_extension"
        self.asked += 1
        return self.key if self.asked > self.missing_for else None


@dataclass
class FakeEventSubscriptions:
    """Keeps subscriptions as Azure does: the endpoint's query (with its key) is never returned."""

    stored: dict[tuple[str, str, str], WebhookSubscription] = field(default_factory=dict)
    urls: list[str] = field(default_factory=list)

    def find(self, resource_group: str, topic: str, name: str) -> WebhookSubscription | None:
        return self.stored.get((resource_group, topic, name))

    def create_or_update(
        self,
        resource_group: str,
        topic: str,
        name: str,
        endpoint_url: str,
        wanted: WebhookSubscription,
    ) -> None:
        assert endpoint_url.split("?")[0] == wanted.endpoint_base_url
        self.urls.append(endpoint_url)
        self.stored[(resource_group, topic, name)] = wanted


def test_the_subscription_sends_only_inbox_blob_created_events_to_the_blob_webhook() -> None:
    subscriptions = FakeEventSubscriptions()
    outcome = subscribe_inbox(FakeFunctionApps(), subscriptions, TARGET, sleep=lambda _: None)
    assert outcome == "created"
    stored = subscriptions.stored[("rg-tunedrop", "evgt-abc", SUBSCRIPTION_NAME)]
    assert stored.included_event_types == (BLOB_CREATED,)
    assert stored.subject_begins_with == "/blobServices/default/containers/training-inbox/"
    assert subscriptions.urls == [
        f"https://{HOST}/runtime/webhooks/blobs"
        "?functionName=Host.Functions.validate_dropped_file&code=system-key"
    ]


def test_the_hook_waits_while_the_freshly_deployed_app_has_no_blobs_extension_key() -> None:
    waits: list[float] = []
    subscriptions = FakeEventSubscriptions()
    apps = FakeFunctionApps(missing_for=3)
    subscribe_inbox(apps, subscriptions, TARGET, wait_seconds=15, sleep=waits.append)
    assert waits == [15, 15, 15]
    assert subscriptions.urls[0].endswith("&code=system-key")


def test_the_hook_gives_up_with_what_to_do_when_the_key_never_comes() -> None:
    subscriptions = FakeEventSubscriptions()
    with pytest.raises(HookError, match=r"no blobs_extension system key after 4 tries.*azd hooks"):
        subscribe_inbox(
            FakeFunctionApps(missing_for=99),
            subscriptions,
            TARGET,
            attempts=4,
            sleep=lambda _: None,
        )
    assert subscriptions.stored == {}


def test_running_the_hook_again_puts_the_subscription_again_with_the_current_key() -> None:
    # Azure never returns the key, so a subscription that looks right may hold a rotated-away
    # one, and Event Grid does not retry a 401: the hook must always PUT.
    subscriptions = FakeEventSubscriptions()
    apps = FakeFunctionApps()
    subscribe_inbox(apps, subscriptions, TARGET, sleep=lambda _: None)
    apps.key = "rotated-key"
    again = subscribe_inbox(apps, subscriptions, TARGET, sleep=lambda _: None)
    assert again == "updated"
    assert [url.rsplit("code=", 1)[1] for url in subscriptions.urls] == [
        "system-key",
        "rotated-key",
    ]


def test_the_subscription_retries_and_dead_letters_into_the_apps_storage() -> None:
    subscriptions = FakeEventSubscriptions()
    subscribe_inbox(FakeFunctionApps(), subscriptions, TARGET, sleep=lambda _: None)
    stored = subscriptions.stored[("rg-tunedrop", "evgt-abc", SUBSCRIPTION_NAME)]
    assert (stored.max_delivery_attempts, stored.event_time_to_live_minutes) == (30, 1440)
    assert stored.dead_letter_account_id == (
        "/subscriptions/sub/resourceGroups/rg-tunedrop/providers/Microsoft.Storage/storageAccounts/stabc"
    )
    assert stored.dead_letter_container == "eventgrid-deadletter"


def test_the_event_grid_client_puts_the_retry_policy_and_dead_letter_destination() -> None:
    # The real azure-mgmt-eventgrid client against a fake ARM: what goes over the wire.
    arm = FakeArm()
    client = EventGridManagementClient(FixedToken(), "sub", transport=arm)
    subscriptions = ArmEventSubscriptions(client)
    subscribe_inbox(FakeFunctionApps(), subscriptions, TARGET, sleep=lambda _: None)
    path = (
        "/subscriptions/sub/resourceGroups/rg-tunedrop/providers/Microsoft.EventGrid"
        f"/systemTopics/evgt-abc/eventSubscriptions/{SUBSCRIPTION_NAME}"
    )
    sent = arm.resources[path]["properties"]
    assert sent["retryPolicy"] == {"maxDeliveryAttempts": 30, "eventTimeToLiveInMinutes": 1440}
    dead_letter = sent["deadLetterWithResourceIdentity"]
    assert dead_letter["identity"] == {"type": "SystemAssigned"}
    assert dead_letter["deadLetterDestination"] == {
        "endpointType": "StorageBlob",
        "properties": {
            "resourceId": TARGET.storage_account_id,
            "blobContainerName": "eventgrid-deadletter",
        },
    }
    assert sent["destination"]["properties"]["endpointUrl"].endswith("&code=system-key")
    found = subscriptions.find("rg-tunedrop", "evgt-abc", SUBSCRIPTION_NAME)
    assert found is not None and found.dead_letter_container == "eventgrid-deadletter"
    assert subscribe_inbox(FakeFunctionApps(), subscriptions, TARGET) == "updated"
    assert [m for m, p in arm.seen if p == path].count("PUT") == 2


def test_a_subscription_with_another_filter_or_a_failed_one_is_put_right() -> None:
    subscriptions = FakeEventSubscriptions()
    key = ("rg-tunedrop", "evgt-abc", SUBSCRIPTION_NAME)
    subscriptions.stored[key] = WebhookSubscription(
        f"https://{HOST}/runtime/webhooks/blobs", (BLOB_CREATED,), "/blobServices/default/"
    )
    assert subscribe_inbox(FakeFunctionApps(), subscriptions, TARGET) == "updated"
    assert subscriptions.stored[key].subject_begins_with.endswith("/training-inbox/")
    subscriptions.stored[key] = WebhookSubscription(
        f"https://{HOST}/runtime/webhooks/blobs",
        (BLOB_CREATED,),
        "/blobServices/default/containers/training-inbox/",
        succeeded=False,
    )
    assert subscribe_inbox(FakeFunctionApps(), subscriptions, TARGET) == "updated"


def test_the_hook_names_the_azd_values_it_lacks(caplog: pytest.LogCaptureFixture) -> None:
    assert main({"AZURE_SUBSCRIPTION_ID": "sub"}) == 1
    assert "AZURE_FUNCTION_APP_NAME" in caplog.text and "azd provision" in caplog.text
