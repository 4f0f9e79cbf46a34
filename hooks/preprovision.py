"""azd's `preprovision` hook: refuse, before anything is created, what would make `azd up` fail or
leave an app whose every run fails at job creation.

    python -m hooks.preprovision          (azd runs `./dev preprovision`, which runs this)

It checks, in this order:
1. an existing Azure OpenAI account (AZURE_OPENAI_EXISTING_NAME) comes with its resource group
   (AZURE_OPENAI_EXISTING_RESOURCE_GROUP): the role module is scoped to that group;
2. the model runs fine-tune by default (TUNEDROP_MODEL, `<name>-<version>`; no default, see the
   README) is offered for fine-tuning in the Azure OpenAI region (AZURE_OPENAI_LOCATION), by
   ARM's `Models_List` for that region: present, fine-tunable, not Deprecated or Legacy, its
   fine-tuning not retired. The base and grader deployments' models must be deployable there
   (GlobalStandard, inference not retired). A refusal names what the region does offer, and, for
   a model the docs table knows (hooks/fine_tuning_regions.py), the regions the docs list for it;
3. the `Microsoft.App` resource provider is registered (Flex Consumption apps need it and ARM does
   not register it for you); registering is idempotent.

A deprecated model still works for customers who used it before its retirement: set
TUNEDROP_ALLOW_DEPRECATED_MODEL=true to be warned instead of refused.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from hooks.fine_tuning_regions import DEFAULT_OPENAI_LOCATION, documented

logger = logging.getLogger("preprovision")

MODEL_ID = re.compile(r"^(?P<name>[a-z0-9][a-z0-9.\-]*)-(?P<version>\d{4}-\d{2}-\d{2})$")
GONE_FOR_NEW_CUSTOMERS = ("Deprecated", "Legacy")  # "no longer available to new customers"
DEPLOYMENT_SKU = "GlobalStandard"  # infra/modules/openai.bicep's base and grader deployments
WARN_WITHIN = timedelta(days=30)
APP_PROVIDER = "Microsoft.App"


class HookError(RuntimeError):
    """Provisioning must not start; the message says why and what to do."""


@dataclass(frozen=True)
class OfferedModel:
    """One model as ARM's `Models_List` answers for a region (OpenAI-kind accounts)."""

    name: str
    version: str
    fine_tunable: bool
    lifecycle: str = ""
    fine_tune_retires: date | None = None
    inference_retires: date | None = None
    skus: tuple[str, ...] = ()

    @property
    def model_id(self) -> str:
        return f"{self.name}-{self.version}"


class ModelCatalog(Protocol):
    def models(self, location: str) -> list[OfferedModel]: ...


class ResourceProviders(Protocol):
    def state(self, namespace: str) -> str: ...

    def register(self, namespace: str) -> None: ...


def flag(environ: Mapping[str, str], name: str) -> bool:
    return environ.get(name, "").strip().lower() in ("1", "true", "yes")


@dataclass(frozen=True)
class Plan:
    """What `azd up` is about to provision, from the azd environment (infra/main.parameters.json
    maps the same variables to the Bicep parameters)."""

    subscription_id: str
    openai_location: str
    model: str
    deploy_base: bool = True
    base_model: str = ""
    deploy_grader: bool = False
    grader_model: str = ""
    existing_name: str = ""
    existing_group: str = ""
    allow_deprecated: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Plan:
        subscription = environ.get("AZURE_SUBSCRIPTION_ID", "")
        if not subscription:
            raise HookError("the azd environment has no AZURE_SUBSCRIPTION_ID: run `azd up` again")

        def joined(name: str, version: str) -> str:
            model, number = environ.get(name, ""), environ.get(version, "")
            return f"{model}-{number}" if model and number else model

        return cls(
            subscription_id=subscription,
            openai_location=environ.get("AZURE_OPENAI_LOCATION") or DEFAULT_OPENAI_LOCATION,
            model=environ.get("TUNEDROP_MODEL", "").strip(),
            deploy_base=environ.get("TUNEDROP_DEPLOY_BASE", "true").strip().lower() != "false",
            base_model=joined("TUNEDROP_BASE_MODEL", "TUNEDROP_BASE_MODEL_VERSION"),
            deploy_grader=flag(environ, "TUNEDROP_DEPLOY_GRADER"),
            grader_model=joined("TUNEDROP_GRADER_MODEL", "TUNEDROP_GRADER_MODEL_VERSION"),
            existing_name=environ.get("AZURE_OPENAI_EXISTING_NAME", ""),
            existing_group=environ.get("AZURE_OPENAI_EXISTING_RESOURCE_GROUP", ""),
            allow_deprecated=flag(environ, "TUNEDROP_ALLOW_DEPRECATED_MODEL"),
        )


def check_existing_account(plan: Plan) -> None:
    if plan.existing_name and not plan.existing_group:
        raise HookError(
            f"AZURE_OPENAI_EXISTING_NAME is {plan.existing_name} but its resource group is not "
            "set: `azd env set AZURE_OPENAI_EXISTING_RESOURCE_GROUP <its group>`"
        )


def fine_tunable_now(offered: Iterable[OfferedModel], today: date) -> list[str]:
    """The models a new customer can fine-tune in the region today, as ARM lists them."""
    return sorted(
        {
            m.model_id
            for m in offered
            if m.fine_tunable
            and m.lifecycle not in GONE_FOR_NEW_CUSTOMERS
            and (m.fine_tune_retires is None or m.fine_tune_retires > today)
        }
    )


def check_model(plan: Plan, catalog: ModelCatalog, today: date) -> list[str]:
    """Raises HookError when the model cannot be fine-tuned (or deployed) in the region; returns
    warnings (a fine-tuning retirement within 30 days, a deprecated model allowed by you)."""
    location = plan.openai_location
    offered = catalog.models(location)
    available = fine_tunable_now(offered, today)
    choice = (
        f"fine-tunable in {location} today, per ARM: {', '.join(available)}"
        if available
        else f"ARM lists no model a new customer can fine-tune in {location} today"
    )
    if not plan.model:
        raise HookError(
            f"no model chosen: `azd env set TUNEDROP_MODEL <name>-<version>` ({choice})"
        )
    if not MODEL_ID.match(plan.model):
        raise HookError(
            f"TUNEDROP_MODEL {plan.model!r} is not <name>-<version> with a yyyy-mm-dd version, "
            f"e.g. gpt-4.1-mini-2025-04-14 ({choice})"
        )
    docs = documented(plan.model)
    if docs is not None and location not in docs.standard_regions:
        raise HookError(
            f"{plan.model} cannot be fine-tuned in {location}: the docs list Standard training of "
            f"it in {', '.join(docs.standard_regions)} only (`azd env set AZURE_OPENAI_LOCATION "
            f"<region>`); {choice}"
        )
    found = {m.model_id: m for m in offered}
    model = found.get(plan.model)
    if model is None or not model.fine_tunable:
        state = "is not offered" if model is None else "cannot be fine-tuned"
        raise HookError(f"{plan.model} {state} in {location}; {choice}")
    retires = model.fine_tune_retires
    warnings = lifecycle_problems(model, "fine-tuning", retires, plan, today, choice)
    if not plan.existing_name:  # an existing account's deployments are yours, not created here
        if plan.deploy_base:
            base = plan.base_model or plan.model
            warnings += check_deployable("base", base, found, plan, today)
        if plan.deploy_grader:
            grader = plan.grader_model or plan.base_model or plan.model
            warnings += check_deployable("grader", grader, found, plan, today)
    return warnings


def check_deployable(
    role: str, wanted: str, found: Mapping[str, OfferedModel], plan: Plan, today: date
) -> list[str]:
    deployable = sorted(
        m.model_id
        for m in found.values()
        if DEPLOYMENT_SKU in m.skus
        and m.lifecycle not in GONE_FOR_NEW_CUSTOMERS
        and (m.inference_retires is None or m.inference_retires > today)
    )
    choice = f"deployable as {DEPLOYMENT_SKU} in {plan.openai_location}: {', '.join(deployable)}"
    model = found.get(wanted)
    if model is None or DEPLOYMENT_SKU not in model.skus:
        raise HookError(
            f"the {role} deployment's model {wanted} cannot be deployed as {DEPLOYMENT_SKU} in "
            f"{plan.openai_location}; {choice}"
        )
    what = f"the {role} deployment"
    return lifecycle_problems(model, what, model.inference_retires, plan, today, choice)


def lifecycle_problems(
    model: OfferedModel,
    what: str,
    retires: date | None,
    plan: Plan,
    today: date,
    choice: str,
) -> list[str]:
    problems = []
    if retires is not None and retires <= today:
        problems.append(f"{what} of {model.model_id} retired on {retires.isoformat()}")
    if model.lifecycle in GONE_FOR_NEW_CUSTOMERS:
        problems.append(f"{model.model_id} is {model.lifecycle} (no longer open to new customers)")
    if problems and not plan.allow_deprecated:
        raise HookError(
            f"{'; '.join(problems)}; {choice}. If your subscription still has access, "
            "`azd env set TUNEDROP_ALLOW_DEPRECATED_MODEL true`"
        )
    warnings = [f"{p} (allowed by TUNEDROP_ALLOW_DEPRECATED_MODEL)" for p in problems]
    if retires is not None and today < retires <= today + WARN_WITHIN:
        warnings.append(f"{what} of {model.model_id} retires on {retires.isoformat()}")
    elif model.lifecycle == "Deprecating" and not problems:
        warnings.append(f"{model.model_id} is Deprecating: plan to move to another model")
    return warnings


def ensure_registered(
    providers: ResourceProviders,
    namespace: str = APP_PROVIDER,
    *,
    attempts: int = 40,
    wait_seconds: float = 15.0,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Registers the provider unless it is; waits until ARM says Registered. Returns
    "already registered" or "registered"."""
    if providers.state(namespace) == "Registered":
        return "already registered"
    providers.register(namespace)
    for attempt in range(1, attempts + 1):
        if providers.state(namespace) == "Registered":
            return "registered"
        logger.info("%s is registering (check %d of %d)", namespace, attempt, attempts)
        if attempt < attempts:
            sleep(wait_seconds)
    raise HookError(
        f"{namespace} is still not registered: check `az provider show -n {namespace}` and run "
        "`azd provision` again"
    )


def day(value: Any) -> date | None:
    """An ARM date (ISO 8601 text, or a datetime the SDK parsed) as a UTC day."""
    if not value:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).date() if value.tzinfo else value.date()
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed.astimezone(UTC).date() if parsed.tzinfo else parsed.date()


class ArmModelCatalog:
    """`Models_List` (GET /subscriptions/{sub}/providers/Microsoft.CognitiveServices/locations/
    {location}/models) through `azure-mgmt-cognitiveservices`, OpenAI-kind accounts only."""

    def __init__(self, client: Any) -> None:
        self.client = client  # azure.mgmt.cognitiveservices.CognitiveServicesManagementClient

    def models(self, location: str) -> list[OfferedModel]:
        found: dict[str, OfferedModel] = {}
        for entry in self.client.models.list(location):
            model = entry.model
            if entry.kind != "OpenAI" or model is None or model.format != "OpenAI":
                continue
            capabilities = model.capabilities or {}
            deprecation = model.deprecation
            offered = OfferedModel(
                name=model.name,
                version=model.version,
                # `capabilities.fineTune` says so for a base model; `finetuneCapabilities` lists
                # what a fine-tuned one can do. Either means the region fine-tunes it.
                fine_tunable=str(capabilities.get("fineTune", "")).lower() == "true"
                or bool(model.finetune_capabilities),
                lifecycle=str(model.lifecycle_status or ""),
                fine_tune_retires=day(deprecation.fine_tune) if deprecation else None,
                inference_retires=day(deprecation.inference) if deprecation else None,
                skus=tuple(sku.name for sku in model.skus or () if sku.name),
            )
            found[offered.model_id] = offered
        return list(found.values())


class ArmResourceProviders:
    """Provider registration (Microsoft.Resources 2021-04-01) over azure-core's ARM pipeline."""

    API_VERSION = "2021-04-01"
    ENDPOINT = "https://management.azure.com"

    def __init__(self, credential: Any, subscription_id: str, **client_options: Any) -> None:
        from azure.core import PipelineClient
        from azure.core.pipeline import policies
        from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy

        self.subscription_id = subscription_id
        self.client = PipelineClient(
            self.ENDPOINT,
            policies=[
                policies.HeadersPolicy(),
                policies.UserAgentPolicy("tunedrop-preprovision"),
                policies.RetryPolicy(),
                ARMChallengeAuthenticationPolicy(credential, f"{self.ENDPOINT}/.default"),
            ],
            **client_options,
        )

    def _send(self, method: str, path: str) -> dict[str, Any]:
        from azure.core.exceptions import HttpResponseError
        from azure.core.rest import HttpRequest

        url = f"{self.ENDPOINT}/subscriptions/{self.subscription_id}/providers/{path}"
        response = self.client.send_request(
            HttpRequest(method, url, params={"api-version": self.API_VERSION})
        )
        if response.status_code >= 400:
            raise HttpResponseError(response=response)
        return dict(response.json())

    def state(self, namespace: str) -> str:
        return str(self._send("GET", namespace).get("registrationState", ""))

    def register(self, namespace: str) -> None:
        self._send("POST", f"{namespace}/register")


def preprovision(
    plan: Plan,
    catalog: ModelCatalog,
    providers: ResourceProviders,
    today: date,
    **waiting: Any,
) -> list[str]:
    """Every check, in order; returns the warnings to show. Raises HookError on a refusal."""
    check_existing_account(plan)
    warnings = check_model(plan, catalog, today)
    outcome = ensure_registered(providers, **waiting)
    logger.info("%s: %s", APP_PROVIDER, outcome)
    return list(dict.fromkeys(warnings))  # the base deployment may repeat the model's own


def main(environ: Mapping[str, str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="preprovision: %(message)s")
    environ = os.environ if environ is None else environ
    try:
        plan = Plan.from_env(environ)
        check_existing_account(plan)
        from azure.core.exceptions import HttpResponseError
        from azure.identity import AzureDeveloperCliCredential
        from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

        credential = AzureDeveloperCliCredential(tenant_id=environ.get("AZURE_TENANT_ID") or "")
        client = CognitiveServicesManagementClient(credential, plan.subscription_id)
        try:
            warnings = preprovision(
                plan,
                ArmModelCatalog(client),
                ArmResourceProviders(credential, plan.subscription_id),
                datetime.now(UTC).date(),
            )
        except HttpResponseError as exc:
            raise HookError(f"ARM refused a check ({exc.status_code}): {exc.message}") from exc
    except HookError as exc:
        logger.error("%s", exc)
        return 1
    for warning in warnings:
        logger.warning("%s", warning)
    logger.info("%s can be fine-tuned in %s", plan.model, plan.openai_location)
    return 0


if __name__ == "__main__":
    sys.exit(main())
