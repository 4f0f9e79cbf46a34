"""azd's `postdeploy` hook: subscribe the Function App's blobs webhook to the storage account's
Event Grid system topic, for `BlobCreated` in the inbox container only.

It runs after the code is deployed because the webhook's `blobs_extension` system key exists only
once the host has indexed a blob trigger with `source: EventGrid`; until then the key is missing
and the hook waits and asks again. It always PUTs the subscription (idempotent; azd runs the hook
on every `azd deploy`), so a rotated `blobs_extension` key is picked up: Event Grid never returns
the key, so a subscription that merely looks right may hold a stale one, and a webhook answering
401 is not retried by Event Grid.

The subscription retries as Event Grid does by default, said explicitly (30 attempts within 24 h),
and dead-letters what it could not deliver to a container in the app's storage account, written
with the system topic's own identity (storage takes no keys).

    python -m hooks.postdeploy            (azd runs `./dev postdeploy`, which runs this)

It reads the azd environment's values, set from infra/main.bicep's outputs: AZURE_SUBSCRIPTION_ID,
AZURE_RESOURCE_GROUP, AZURE_FUNCTION_APP_NAME, EVENT_GRID_SYSTEM_TOPIC, INBOX_CONTAINER,
BLOB_TRIGGER_FUNCTION, AZURE_STORAGE_ACCOUNT_NAME, EVENT_GRID_DEADLETTER_CONTAINER; and signs in as
`azd auth login` did, in AZURE_TENANT_ID.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

logger = logging.getLogger("postdeploy")

SUBSCRIPTION_NAME = "tunedrop-inbox-blob-created"
BLOB_CREATED = "Microsoft.Storage.BlobCreated"
WEBHOOK_PATH = "/runtime/webhooks/blobs"
KEY_NAME = "blobs_extension"
MAX_DELIVERY_ATTEMPTS = 30  # Event Grid's default and maximum
EVENT_TIME_TO_LIVE_MINUTES = 1440  # 24 h, Event Grid's default and maximum


class HookError(RuntimeError):
    """The hook could not finish; the message says what is missing and what to do."""


@dataclass(frozen=True)
class Target:
    """Where the subscription goes, from the azd environment."""

    subscription_id: str
    resource_group: str
    function_app: str
    system_topic: str
    container: str
    function_name: str
    storage_account: str
    dead_letter_container: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Target:
        names = {
            "subscription_id": "AZURE_SUBSCRIPTION_ID",
            "resource_group": "AZURE_RESOURCE_GROUP",
            "function_app": "AZURE_FUNCTION_APP_NAME",
            "system_topic": "EVENT_GRID_SYSTEM_TOPIC",
            "container": "INBOX_CONTAINER",
            "function_name": "BLOB_TRIGGER_FUNCTION",
            "storage_account": "AZURE_STORAGE_ACCOUNT_NAME",
            "dead_letter_container": "EVENT_GRID_DEADLETTER_CONTAINER",
        }
        missing = [name for name in names.values() if not environ.get(name)]
        if missing:
            raise HookError(
                f"the azd environment lacks {', '.join(missing)}: run `azd provision` first"
            )
        return cls(**{field: environ[name] for field, name in names.items()})

    @property
    def subject_prefix(self) -> str:
        return f"/blobServices/default/containers/{self.container}/"

    @property
    def storage_account_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.Storage/storageAccounts/{self.storage_account}"
        )


@dataclass(frozen=True)
class WebhookSubscription:
    """What matters about an Event Grid subscription to a webhook."""

    endpoint_base_url: str  # the URL without its query (Azure never returns the key)
    included_event_types: tuple[str, ...]
    subject_begins_with: str
    succeeded: bool = True
    max_delivery_attempts: int = MAX_DELIVERY_ATTEMPTS
    event_time_to_live_minutes: int = EVENT_TIME_TO_LIVE_MINUTES
    dead_letter_account_id: str = ""
    dead_letter_container: str = ""


class FunctionApps(Protocol):
    def host_name(self, resource_group: str, app: str) -> str: ...

    def system_key(self, resource_group: str, app: str, key_name: str) -> str | None:
        """The system key, or None while the host has not made it yet."""
        ...


class EventSubscriptions(Protocol):
    def find(self, resource_group: str, topic: str, name: str) -> WebhookSubscription | None: ...

    def create_or_update(
        self,
        resource_group: str,
        topic: str,
        name: str,
        endpoint_url: str,
        wanted: WebhookSubscription,
    ) -> None: ...


def wait_for_key(
    apps: FunctionApps,
    target: Target,
    *,
    attempts: int = 40,
    wait_seconds: float = 15.0,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """The webhook's system key, asking again while the freshly deployed host has not made it."""
    for attempt in range(1, attempts + 1):
        key = apps.system_key(target.resource_group, target.function_app, KEY_NAME)
        if key:
            return key
        logger.info(
            "The %s key of %s does not exist yet (attempt %d of %d); waiting %.0f s",
            KEY_NAME, target.function_app, attempt, attempts, wait_seconds,
        )  # fmt: skip
        if attempt < attempts:
            sleep(wait_seconds)
    raise HookError(
        f"the Function App {target.function_app} has no {KEY_NAME} system key after {attempts} "
        f"tries: check that the deployment succeeded and that the function "
        f"{target.function_name} is listed, then run `azd hooks run postdeploy`"
    )


def subscribe_inbox(
    apps: FunctionApps,
    subscriptions: EventSubscriptions,
    target: Target,
    **waiting: Any,
) -> str:
    """PUTs the subscription with the webhook's current key; returns "created" or "updated"."""
    host = apps.host_name(target.resource_group, target.function_app)
    base_url = f"https://{host}{WEBHOOK_PATH}"
    wanted = WebhookSubscription(
        endpoint_base_url=base_url,
        included_event_types=(BLOB_CREATED,),
        subject_begins_with=target.subject_prefix,
        dead_letter_account_id=target.storage_account_id,
        dead_letter_container=target.dead_letter_container,
    )
    current = subscriptions.find(target.resource_group, target.system_topic, SUBSCRIPTION_NAME)
    key = wait_for_key(apps, target, **waiting)
    url = f"{base_url}?functionName=Host.Functions.{target.function_name}&code={key}"
    subscriptions.create_or_update(
        target.resource_group, target.system_topic, SUBSCRIPTION_NAME, url, wanted
    )
    return "created" if current is None else "updated"


class ArmFunctionApps:
    """Function App host names and system keys through `azure-mgmt-web`."""

    def __init__(self, client: Any) -> None:
        self.client = client  # azure.mgmt.web.WebSiteManagementClient

    def host_name(self, resource_group: str, app: str) -> str:
        return str(self.client.web_apps.get(resource_group, app).properties.default_host_name)

    def system_key(self, resource_group: str, app: str, key_name: str) -> str | None:
        from azure.core.exceptions import HttpResponseError

        try:
            keys = self.client.web_apps.list_host_keys(resource_group, app)
        except HttpResponseError as exc:
            # The host answers 4xx/5xx while it starts after a deployment: ask again later.
            logger.info("Listing host keys failed (%s); trying again", exc.status_code)
            return None
        return (keys.system_keys or {}).get(key_name)


class ArmEventSubscriptions:
    """Event Grid system topic subscriptions through `azure-mgmt-eventgrid`."""

    def __init__(self, client: Any) -> None:
        self.client = client  # azure.mgmt.eventgrid.EventGridManagementClient

    def find(self, resource_group: str, topic: str, name: str) -> WebhookSubscription | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            found = self.client.system_topic_event_subscriptions.get(resource_group, topic, name)
        except ResourceNotFoundError:
            return None
        destination, filters = found.destination, found.filter
        retry = found.retry_policy
        dead_letter = getattr(
            found.dead_letter_with_resource_identity, "dead_letter_destination", None
        )
        return WebhookSubscription(
            endpoint_base_url=getattr(destination, "endpoint_base_url", "") or "",
            included_event_types=tuple(filters.included_event_types or ()) if filters else (),
            subject_begins_with=(filters.subject_begins_with or "") if filters else "",
            succeeded=found.provisioning_state == "Succeeded",
            max_delivery_attempts=retry.max_delivery_attempts if retry else MAX_DELIVERY_ATTEMPTS,
            event_time_to_live_minutes=(
                retry.event_time_to_live_in_minutes if retry else EVENT_TIME_TO_LIVE_MINUTES
            ),
            dead_letter_account_id=getattr(dead_letter, "resource_id", "") or "",
            dead_letter_container=getattr(dead_letter, "blob_container_name", "") or "",
        )

    def create_or_update(
        self,
        resource_group: str,
        topic: str,
        name: str,
        endpoint_url: str,
        wanted: WebhookSubscription,
    ) -> None:
        from azure.mgmt.eventgrid.models import (
            DeadLetterWithResourceIdentity,
            EventSubscription,
            EventSubscriptionFilter,
            EventSubscriptionIdentity,
            RetryPolicy,
            StorageBlobDeadLetterDestination,
            WebHookEventSubscriptionDestination,
        )

        subscription = EventSubscription(
            destination=WebHookEventSubscriptionDestination(endpoint_url=endpoint_url),
            filter=EventSubscriptionFilter(
                included_event_types=list(wanted.included_event_types),
                subject_begins_with=wanted.subject_begins_with,
            ),
            event_delivery_schema="EventGridSchema",
            retry_policy=RetryPolicy(
                max_delivery_attempts=wanted.max_delivery_attempts,
                event_time_to_live_in_minutes=wanted.event_time_to_live_minutes,
            ),
            # The system topic's identity writes dead letters (infra/modules/eventgrid.bicep
            # gives it Storage Blob Data Contributor on that container only).
            dead_letter_with_resource_identity=DeadLetterWithResourceIdentity(
                identity=EventSubscriptionIdentity(type="SystemAssigned"),
                dead_letter_destination=StorageBlobDeadLetterDestination(
                    resource_id=wanted.dead_letter_account_id,
                    blob_container_name=wanted.dead_letter_container,
                ),
            ),
        )
        poller = self.client.system_topic_event_subscriptions.begin_create_or_update(
            resource_group, topic, name, subscription
        )
        poller.result()


def main(environ: Mapping[str, str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="postdeploy: %(message)s")
    environ = os.environ if environ is None else environ
    try:
        target = Target.from_env(environ)
        from azure.identity import AzureDeveloperCliCredential
        from azure.mgmt.eventgrid import EventGridManagementClient
        from azure.mgmt.web import WebSiteManagementClient

        credential = AzureDeveloperCliCredential(tenant_id=environ.get("AZURE_TENANT_ID") or "")
        outcome = subscribe_inbox(
            ArmFunctionApps(WebSiteManagementClient(credential, target.subscription_id)),
            ArmEventSubscriptions(EventGridManagementClient(credential, target.subscription_id)),
            target,
        )
    except HookError as exc:
        logger.error("%s", exc)
        return 1
    logger.info(
        "Event Grid subscription %s on %s: %s (BlobCreated in %s -> %s; dead letters in %s)",
        SUBSCRIPTION_NAME, target.system_topic, outcome, target.container, target.function_name,
        target.dead_letter_container,
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
