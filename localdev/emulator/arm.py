"""ARM deployments of the one emulated account: PUT (long-running), GET, list, DELETE."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from localdev.emulator import catalog, limits, peers
from localdev.emulator.jobs import checkpoints
from localdev.emulator.store import State, new_id
from localdev.emulator.wire import ApiError, Request, Response, Router, json_response

PROVIDER = "/providers/Microsoft.CognitiveServices"
ACCOUNT = "/subscriptions/{sub}/resourceGroups/{rg}" + PROVIDER + "/accounts/{account}"
OPERATIONS = "/subscriptions/{sub}" + PROVIDER + "/locations/{location}"
DEPLOYMENT_TYPE = "Microsoft.CognitiveServices/accounts/deployments"
POLL_CAP_SECONDS = 10.0


@dataclass
class Deployment:
    """A deployment; its provisioning state is derived from the time (see `State`)."""

    name: str
    model_name: str
    model_version: str
    serves: str  # the data-plane model id chat answers as
    sku_name: str
    capacity: int
    succeeded_at: float
    ready_at: float
    gone_at: float | None = None  # set when a DELETE started
    tags: dict[str, str] = field(default_factory=dict)
    last_used_at: float | None = None
    """The last chat it answered (None: none since it was created)."""

    def provisioning_state(self, now: float) -> str:
        if self.gone_at is not None:
            return "Deleting"
        return "Succeeded" if now >= self.succeeded_at else "Creating"

    def to_json(self, state: State, now: float) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": f"{account_path(state)}/deployments/{self.name}",
            "name": self.name,
            "type": DEPLOYMENT_TYPE,
            "sku": {"name": self.sku_name, "capacity": self.capacity},
            "properties": {
                "model": {
                    "format": "OpenAI",
                    "name": self.model_name,
                    "version": self.model_version,
                },
                "provisioningState": self.provisioning_state(now),
                "capabilities": {"chatCompletion": "true"},
                "versionUpgradeOption": "NoAutoUpgrade",
                "currentCapacity": self.capacity,
                "rateLimits": [
                    {"key": "request", "renewalPeriod": 10, "count": self.capacity},
                    {"key": "token", "renewalPeriod": 60, "count": self.capacity * 1000},
                ],
                "deploymentState": "Running",
            },
        }
        if self.tags:
            payload["tags"] = dict(self.tags)
        return payload


@dataclass(frozen=True)
class Operation:
    """An asynchronous ARM operation, polled through Azure-AsyncOperation / Location."""

    id: str
    running_status: str  # "Creating" or "Deleting"
    started_at: float
    ends_at: float


def account_path(state: State) -> str:
    return (
        f"/subscriptions/{state.subscription_id}/resourceGroups/{state.resource_group}"
        f"{PROVIDER}/accounts/{state.account_name}"
    )


def register(router: Router, state: State) -> None:
    router.add("GET", ACCOUNT + "/deployments", partial(list_deployments, state))
    router.add("GET", ACCOUNT + "/deployments/{name}", partial(get_deployment, state))
    router.add("PUT", ACCOUNT + "/deployments/{name}", partial(put_deployment, state))
    router.add("DELETE", ACCOUNT + "/deployments/{name}", partial(delete_deployment, state))
    router.add("GET", OPERATIONS + "/operationStatuses/{op}", partial(operation_status, state))
    router.add("GET", OPERATIONS + "/operationResults/{op}", partial(operation_result, state))
    router.add("GET", OPERATIONS + "/models", partial(list_location_models, state))
    router.add("GET", ACCOUNT + "/models", partial(list_account_models, state))


def list_location_models(state: State, request: Request, params: dict[str, str]) -> Response:
    """Models_List: the models of a region, each as `{kind, skuName, model: AccountModel}`."""
    if params["sub"] != state.subscription_id:
        raise ApiError(
            404, "SubscriptionNotFound", f"The subscription '{params['sub']}' could not be found."
        )
    value = [
        {"kind": "OpenAI" if m.arm_format == "OpenAI" else "AIServices", "skuName": "S0",
         "model": _account_model(m, state.now())}
        for m in state.catalog.models
    ]  # fmt: skip
    return json_response(200, {"value": value})


def list_account_models(state: State, request: Request, params: dict[str, str]) -> Response:
    """Accounts_ListModels: the models this account can deploy or fine-tune (AccountModel)."""
    _check_scope(state, params)
    now = state.now()
    return json_response(200, {"value": [_account_model(m, now) for m in state.catalog.models]})


def _account_model(model: catalog.BaseModel, now: float) -> dict[str, Any]:
    """ARM's view of a catalog model: the cognitiveservices spec's `AccountModel`."""
    deprecation: dict[str, str] = {}
    if model.inference_retires_at is not None:
        deprecation["inference"] = _iso(model.inference_retires_at)
    if model.fine_tune_retires_at is not None:
        deprecation["fineTune"] = _iso(model.fine_tune_retires_at)
    if model.retired_at(now):
        lifecycle = "Deprecated"
    elif model.lifecycle_status == "preview":
        lifecycle = "Preview"
    else:
        lifecycle = "GenerallyAvailable"
    fine_tune = model.fine_tunable_at(now)
    return {
        "publisher": "OpenAI", "format": model.arm_format, "name": model.arm_name,
        "version": model.version, "isDefaultVersion": True,
        "capabilities": {"chatCompletion": "true", "fineTune": str(fine_tune).lower()},
        "finetuneCapabilities": {"supervisedFineTuning": "true"} if fine_tune else {},
        "deprecation": deprecation, "lifecycleStatus": lifecycle,
        "skus": [{"name": sku, "capacity": {"maximum": catalog.CAPACITY_QUOTA, "default": 1}}
                 for sku in ("Standard", "GlobalStandard", "DeveloperTier")],
        "maxCapacity": catalog.CAPACITY_QUOTA,
    }  # fmt: skip


def live_deployment(state: State, name: str) -> Deployment | None:
    """The deployment called `name` (case-insensitive), forgetting it once its DELETE ended."""
    with state.lock:
        found = state.deployments.get(name.lower())
        if found and found.gone_at is not None and state.now() >= found.gone_at:
            del state.deployments[name.lower()]
            return None
        if found and limits.idle_too_long(state, found):
            # The service deletes a fine-tuned deployment unused for `idle_deployment_days`.
            del state.deployments[name.lower()]
            return None
        return found


def list_deployments(state: State, request: Request, params: dict[str, str]) -> Response:
    _check_scope(state, params)
    now = state.now()
    with state.lock:
        names = list(state.deployments)
    found = [d for name in names if (d := live_deployment(state, name))]
    return json_response(200, {"value": [d.to_json(state, now) for d in found]})


def get_deployment(state: State, request: Request, params: dict[str, str]) -> Response:
    _check_scope(state, params)
    deployment = live_deployment(state, params["name"])
    if deployment is None:
        raise _not_found(state, params["name"])
    return json_response(200, deployment.to_json(state, state.now()))


def put_deployment(state: State, request: Request, params: dict[str, str]) -> Response:
    _check_scope(state, params)
    body = request.json()
    if not isinstance(body, dict):
        raise ApiError(400, "InvalidRequestContent", "The request content must be a JSON object.")
    model, sku = (body.get("properties") or {}).get("model") or {}, body.get("sku") or {}
    name, version = str(model.get("name") or ""), str(model.get("version") or "")
    # A model fine-tuned on another account names that account (cross-region deployment).
    source = str(model.get("source") or model.get("sourceAccount") or "")
    serves, version = _served_model(
        state, str(model.get("format") or "OpenAI"), name, version, source
    )
    capacity = _checked_sku(state, sku, name, version)
    tags = _checked_tags(body.get("tags"))
    now = state.now()
    existing = live_deployment(state, params["name"])
    if existing is not None and existing.gone_at is not None:
        raise ApiError(409, "Conflict", f"The deployment '{params['name']}' is being deleted.")
    if existing is not None and existing.serves == serves:
        # A PUT replaces the resource: its tags are the ones sent now (none if none were sent).
        with state.lock:
            existing.sku_name, existing.capacity, existing.tags = str(sku["name"]), capacity, tags
        return json_response(200, existing.to_json(state, now))
    provisioning = state.timings.deployment_provisioning
    deployment = Deployment(
        name=params["name"], model_name=name, model_version=version, serves=serves,
        sku_name=str(sku["name"]), capacity=capacity, succeeded_at=now + provisioning,
        ready_at=now + provisioning + state.timings.deployment_not_ready_after_succeeded,
        tags=tags,
    )  # fmt: skip
    operation = Operation(new_id("op"), "Creating", now, now + provisioning)
    with state.lock:
        if limits.counts_as_fine_tuned(state, deployment):
            limits.check_deployment_room(state)
        state.deployments[deployment.name.lower()] = deployment
        state.operations[operation.id] = operation
    limits.usage(state)
    headers = {"Azure-AsyncOperation": _operation_url(state, request, operation, "Statuses")}
    headers.update(_poll_after(operation, now))
    return json_response(201, deployment.to_json(state, now), headers)


def delete_deployment(state: State, request: Request, params: dict[str, str]) -> Response:
    _check_scope(state, params)
    deployment = live_deployment(state, params["name"])
    if deployment is None:
        return Response(204)
    now = state.now()
    with state.lock:
        if deployment.gone_at is None:
            deployment.gone_at = now + state.timings.deployment_provisioning
        operation = Operation(new_id("op"), "Deleting", now, deployment.gone_at)
        state.operations[operation.id] = operation
    headers = {
        "Azure-AsyncOperation": _operation_url(state, request, operation, "Statuses"),
        "Location": _operation_url(state, request, operation, "Results"),
        **_poll_after(operation, now),
    }
    return Response(202, b"", headers)


def operation_status(state: State, request: Request, params: dict[str, str]) -> Response:
    operation = _operation(state, params)
    now = state.now()
    done = now >= operation.ends_at
    payload = {
        "id": request.path,
        "name": operation.id,
        "status": "Succeeded" if done else operation.running_status,
        "startTime": _iso(operation.started_at),
    }
    if done:
        payload["endTime"] = _iso(operation.ends_at)
    return json_response(200, payload, {} if done else _poll_after(operation, now))


def operation_result(state: State, request: Request, params: dict[str, str]) -> Response:
    operation = _operation(state, params)
    now = state.now()
    if now >= operation.ends_at:
        return Response(204)
    location = _operation_url(state, request, operation, "Results")
    return Response(202, b"", {"Location": location, **_poll_after(operation, now)})


def _served_model(
    state: State, model_format: str, name: str, version: str, source: str = ""
) -> tuple[str, str]:
    """(data-plane model id, version) for an ARM model; the service's error if it is unknown.
    `source`: the ARM id of the account that fine-tuned it, when that is another account."""
    base = state.catalog.base_model_for_arm(name, version or None)
    if base is not None and base.arm_format == model_format:
        if base.retired_at(state.now()):
            # The shape real ARM gives (seen in microsoft/microsoft-foundry-for-vscode#491 and
            # Azure-Samples/Azure-Functions-OpenAI-Demo#30); the 400 status is a guess.
            since = datetime.datetime.fromtimestamp(base.inference_retires_at or 0, datetime.UTC)
            raise ApiError(
                400,
                "ServiceModelDeprecated",
                f"The model 'Format:{base.arm_format},Name:{base.arm_name},Version:"
                f"{base.version}' has been deprecated since {since:%m/%d/%Y %H:%M:%S}.",
            )
        return base.id, base.version
    served = fine_tuned_here(state, name) if model_format == "OpenAI" else None
    if served is not None:
        return served, version or "1"
    shown = f"{model_format}/{name}" + (f"/{version}" if version else "")
    if source and source.lower() != account_path(state).lower() and model_format == "OpenAI":
        return peers.fetch(state, source, name, shown), version or "1"
    message = f"The model '{shown}' is not supported or does not exist in this account."
    raise ApiError(400, "DeploymentModelNotSupported", message)


def fine_tuned_here(state: State, name: str) -> str | None:
    """The data-plane id a model fine-tuned on this account answers as (a succeeded job's
    model, or a kept checkpoint's ID), or None."""
    now = state.now()
    with state.lock:
        done = [j for j in state.jobs.values() if j.status(now) == "succeeded"]
        if any(j.fine_tuned_model == name for j in done):
            return name
        # A kept checkpoint deploys by its checkpoint ID (ftchkpt-...), as the fine-tuning
        # deploy page documents; it answers chat as its fine_tuned_model_checkpoint name, with
        # what its job learnt.
        for job in done:
            kept = {c["id"]: c["fine_tuned_model_checkpoint"] for c in checkpoints(job, now)}
            served = kept.get(name)
            if served and job.fine_tuned_model in state.trained:
                state.trained[served] = state.trained[job.fine_tuned_model]
                return served
    return None


def _checked_sku(state: State, sku: dict[str, Any], name: str, version: str) -> int:
    sku_name, capacity = sku.get("name"), sku.get("capacity", 1)
    if sku_name not in catalog.DEPLOYMENT_SKUS:
        message = (
            f"The specified SKU '{sku_name}' for model '{name} {version}' is not supported "
            f"in this region '{state.location}'."
        )
        raise ApiError(400, "InvalidResourceProperties", message)
    if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
        message = f"The capacity must be a whole number of at least 1, not {capacity!r}."
        raise ApiError(400, "InvalidResourceProperties", message)
    if capacity > catalog.CAPACITY_QUOTA:
        message = (
            f"This operation require {capacity} new capacity in quota Tokens Per Minute "
            f"(thousands) - {name} - {sku_name}, which is bigger than the current available "
            f"capacity {catalog.CAPACITY_QUOTA}."
        )
        raise ApiError(400, "InsufficientQuota", message)
    return capacity


def _checked_tags(tags: Any) -> dict[str, str]:
    """The deployment's tags: an object of string values, as the spec defines them."""
    if tags is None:
        return {}
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        message = "The 'tags' of a deployment must be an object whose values are strings."
        raise ApiError(400, "InvalidRequestContent", message)
    return dict(tags)


def _check_scope(state: State, params: dict[str, str]) -> None:
    if params["sub"].lower() != state.subscription_id.lower():
        message = f"The subscription '{params['sub']}' could not be found."
        raise ApiError(404, "SubscriptionNotFound", message)
    if params["rg"].lower() != state.resource_group.lower():
        message = f"Resource group '{params['rg']}' could not be found."
        raise ApiError(404, "ResourceGroupNotFound", message)
    if params["account"].lower() != state.account_name.lower():
        raise _not_found(state, None, account=params["account"], group=params["rg"])


def _not_found(
    state: State, name: str | None, *, account: str | None = None, group: str | None = None
) -> ApiError:
    resource = f"Microsoft.CognitiveServices/accounts/{account or state.account_name}"
    if name:
        resource += f"/deployments/{name}"
    message = (
        f"The Resource '{resource}' under resource group '{group or state.resource_group}' "
        "was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
    )
    return ApiError(404, "ResourceNotFound", message)


def _operation(state: State, params: dict[str, str]) -> Operation:
    operation = state.operations.get(params["op"])
    if operation is None or params["sub"].lower() != state.subscription_id.lower():
        raise ApiError(404, "NotFound", f"The operation '{params['op']}' could not be found.")
    return operation


def _operation_url(state: State, request: Request, operation: Operation, kind: str) -> str:
    version = request.query.get("api-version", "")
    return (
        f"https://{request.header('host')}/subscriptions/{state.subscription_id}{PROVIDER}"
        f"/locations/{state.location}/operation{kind}/{operation.id}?api-version={version}"
    )


def _poll_after(operation: Operation, now: float) -> dict[str, str]:
    """When to poll again: whole seconds as ARM sends them, or milliseconds in fast runs."""
    wait = min(POLL_CAP_SECONDS, max(0.05, operation.ends_at - now))
    if wait >= 1:
        return {"Retry-After": str(int(wait))}
    return {"retry-after-ms": str(int(wait * 1000))}


def _iso(when: float) -> str:
    return datetime.datetime.fromtimestamp(when, datetime.UTC).isoformat().replace("+00:00", "Z")
