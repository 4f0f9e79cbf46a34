"""`ArmDeployments`: model deployments of the Azure OpenAI account through ARM.

The client (`CognitiveServicesManagementClient`) is built by `shared.bootstrap` with the app's
credential; HTTPS stays enforced (the local emulator serves ARM over TLS with its own CA).
Operations start the long-running operation without waiting for it (`polling=False`); the timer
follows the deployment's provisioning state on later ticks.
"""

from __future__ import annotations

from collections.abc import Mapping

from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
from azure.mgmt.cognitiveservices.models import (
    Deployment,
    DeploymentModel,
    DeploymentProperties,
    Sku,
)

from shared.adapters.azure_errors import azure_errors, translate
from shared.errors import NoRoom
from shared.pipeline.protocols import RemoteDeployment

FINE_TUNED_MODEL_VERSION = "1"


class ArmDeployments:
    """`Deployments` on one Azure OpenAI account."""

    def __init__(
        self, client: CognitiveServicesManagementClient, resource_group: str, account: str
    ) -> None:
        self._client = client
        self._group = resource_group
        self._account = account

    def get(self, name: str) -> RemoteDeployment | None:
        try:
            deployment = self._client.deployments.get(self._group, self._account, name)
        except ResourceNotFoundError:
            return None
        except AzureError as exc:
            raise translate(exc, f"reading deployment {name!r}") from exc
        return _remote(name, deployment)

    def create(
        self,
        name: str,
        model: str,
        sku: str,
        capacity: int,
        tags: Mapping[str, str],
        source: str | None = None,
    ) -> RemoteDeployment:
        # A model trained on another account names that account's ARM id as `source`, as the
        # fine-tuning deploy page's cross-region example does (`sourceAccount` is its
        # cross-tenant example, which also needs a second token: not done here).
        body = Deployment(
            sku=Sku(name=sku, capacity=capacity),
            tags=dict(tags),
            properties=DeploymentProperties(
                model=DeploymentModel(
                    format="OpenAI", name=model, version=FINE_TUNED_MODEL_VERSION, source=source
                )
            ),
        )
        what = f"creating deployment {name!r}"
        with azure_errors(what):
            try:
                poller = self._client.deployments.begin_create_or_update(
                    self._group, self._account, name, body, polling=False
                )
                created = poller.result()
            except HttpResponseError as exc:
                if _no_room(exc):
                    raise NoRoom(f"{what}: {_first_line(exc)}", _retry_after(exc)) from exc
                raise
        return (
            _remote(name, created)
            if created is not None
            else RemoteDeployment(name, model, "Creating", dict(tags))
        )

    def delete(self, name: str) -> None:
        try:
            self._client.deployments.begin_delete(
                self._group, self._account, name, polling=False
            ).result()
        except ResourceNotFoundError:
            return
        except AzureError as exc:
            raise translate(exc, f"deleting deployment {name!r}") from exc

    def list_all(self) -> list[RemoteDeployment]:
        with azure_errors("listing the account's deployments"):
            return [
                _remote(item.name or "", item)
                for item in self._client.deployments.list(self._group, self._account)
            ]


def _remote(name: str, deployment: Deployment) -> RemoteDeployment:
    properties = deployment.properties
    model = properties.model if properties else None
    return RemoteDeployment(
        name=name,
        model=(model.name or "") if model else "",
        state=(properties.provisioning_state if properties else None) or "Creating",
        tags=dict(deployment.tags or {}),
    )


def _no_room(exc: HttpResponseError) -> bool:
    """A refusal a full deployment quota may give: `QuotaExceeded`, a 429 or a 409. A refusal
    for capacity (`InsufficientQuota`, tokens per minute) is not: another capacity may fit."""
    code = exc.error.code if exc.error is not None else None
    return exc.status_code in (409, 429) or (code or "").lower() == "quotaexceeded"


def _first_line(exc: HttpResponseError) -> str:
    text = str(exc.message or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _retry_after(exc: HttpResponseError) -> float | None:
    headers = exc.response.headers if exc.response is not None else {}
    value = headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
