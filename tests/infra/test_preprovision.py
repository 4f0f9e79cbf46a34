"""The preprovision hook refuses, before anything is created, a model the chosen Azure OpenAI region
cannot fine-tune (retired, deprecated, not offered), an existing account without its resource
group, and registers Microsoft.App once. ARM is faked behind the real clients' transport."""

from __future__ import annotations

import json
from datetime import date

import pytest
from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

from hooks.fine_tuning_regions import (
    DEFAULT_OPENAI_LOCATION,
    DOCS_READ_ON,
    open_to_new_customers,
    standard_fine_tuning_regions,
)
from hooks.preprovision import (
    ArmModelCatalog,
    ArmResourceProviders,
    HookError,
    Plan,
    main,
    preprovision,
)
from localdev.azurite import REPO_ROOT
from tests.infra.bicep import parsed
from tests.infra.fake_arm import FakeArm, FixedToken, arm_model

TODAY = date(2026, 12, 6)
RETIRED_DEFAULT = arm_model(
    "gpt-4o-mini",
    "2024-07-18",
    fine_tune=True,
    lifecycle="Deprecated",
    fine_tune_retires="2026-10-01T00:00:00Z",
    inference_retires="2026-10-01T00:00:00Z",
)
# A fine-tunable GA model for the fake region. The docs list none for a new customer today; this
# one stands for the next model ARM offers, which the hook must accept with no release.
CURRENT = arm_model("gpt-5.4-mini", "2026-03-17", fine_tune=True)
CHAT_ONLY = arm_model("gpt-5.1", "2025-11-13", fine_tune=False)
SWEDEN = {"swedencentral": [RETIRED_DEFAULT, CURRENT, CHAT_ONLY]}


def run(plan: Plan, arm: FakeArm, today: date = TODAY) -> list[str]:
    client = CognitiveServicesManagementClient(FixedToken(), plan.subscription_id, transport=arm)
    providers = ArmResourceProviders(FixedToken(), plan.subscription_id, transport=arm)
    return preprovision(
        plan, ArmModelCatalog(client), providers, today, sleep=lambda _: None, wait_seconds=0
    )


def plan(model: str, **changes: object) -> Plan:
    fields: dict[str, object] = {"openai_location": "swedencentral", **changes}
    return Plan(subscription_id="sub", model=model, **fields)  # type: ignore[arg-type]


def test_a_retired_default_model_is_refused_naming_what_the_region_can_fine_tune() -> None:
    arm = FakeArm(models=SWEDEN)
    with pytest.raises(HookError) as refused:
        run(plan("gpt-4o-mini-2024-07-18"), arm)
    message = str(refused.value)
    assert "fine-tuning of gpt-4o-mini-2024-07-18 retired on 2026-10-01" in message
    assert "Deprecated (no longer open to new customers)" in message
    assert "fine-tunable in swedencentral today, per ARM: gpt-5.4-mini-2026-03-17" in message
    assert "gpt-5.1" not in message.split("per ARM:")[1], "a chat-only model is no choice"
    assert arm.seen == [
        (
            "GET",
            "/subscriptions/sub/providers/Microsoft.CognitiveServices/locations/swedencentral/models",
        )
    ], "it asks ARM for the region's models, and registers nothing once it refuses"


def test_a_model_arm_offers_for_fine_tuning_is_accepted_and_microsoft_app_registered() -> None:
    arm = FakeArm(models=SWEDEN, registering_for=2)
    assert run(plan("gpt-5.4-mini-2026-03-17"), arm) == []
    assert arm.registrations() == ["/subscriptions/sub/providers/Microsoft.App/register"]
    assert arm.providers["Microsoft.App"] == "Registered"


def test_a_registered_provider_is_left_alone() -> None:
    arm = FakeArm(models=SWEDEN, providers={"Microsoft.App": "Registered"})
    run(plan("gpt-5.4-mini-2026-03-17"), arm)
    assert arm.registrations() == []


def test_a_region_the_docs_do_not_list_for_the_model_is_refused_naming_its_regions() -> None:
    arm = FakeArm(models={"eastus2": [RETIRED_DEFAULT, CURRENT]})
    with pytest.raises(HookError, match=r"in northcentralus, swedencentral only.*per ARM"):
        run(plan("gpt-4o-mini-2024-07-18", openai_location="eastus2"), arm)


def test_a_model_the_region_cannot_fine_tune_or_does_not_offer_is_refused() -> None:
    arm = FakeArm(models=SWEDEN)
    with pytest.raises(
        HookError, match=r"gpt-5.1-2025-11-13 cannot be fine-tuned in swedencentral"
    ):
        run(plan("gpt-5.1-2025-11-13"), arm)
    with pytest.raises(HookError, match=r"gpt-9-2030-01-01 is not offered in swedencentral"):
        run(plan("gpt-9-2030-01-01"), arm)


def test_no_model_or_a_malformed_one_is_refused_with_the_choices() -> None:
    arm = FakeArm(models=SWEDEN)
    with pytest.raises(HookError, match=r"azd env set TUNEDROP_MODEL.*gpt-5.4-mini-2026-03-17"):
        run(plan(""), arm)
    with pytest.raises(HookError, match=r"not <name>-<version>"):
        run(plan("gpt-5.4-mini"), arm)


def test_a_fine_tuning_retirement_within_30_days_warns() -> None:
    soon = arm_model("gpt-5.4-mini", "2026-03-17", fine_tune=True, fine_tune_retires="2026-12-20")
    warnings = run(plan("gpt-5.4-mini-2026-03-17"), FakeArm(models={"swedencentral": [soon]}))
    assert warnings == ["fine-tuning of gpt-5.4-mini-2026-03-17 retires on 2026-12-20"]


def test_a_deprecating_model_warns() -> None:
    going = arm_model("gpt-5.4-mini", "2026-03-17", fine_tune=True, lifecycle="Deprecating")
    warnings = run(plan("gpt-5.4-mini-2026-03-17"), FakeArm(models={"swedencentral": [going]}))
    assert warnings == ["gpt-5.4-mini-2026-03-17 is Deprecating: plan to move to another model"]


def test_an_existing_customer_may_keep_a_deprecated_model_with_a_warning() -> None:
    arm = FakeArm(models=SWEDEN)
    warnings = run(plan("gpt-4o-mini-2024-07-18", allow_deprecated=True, deploy_base=False), arm)
    assert any("retired on 2026-10-01 (allowed by" in w for w in warnings)


def test_the_base_and_grader_deployments_must_be_deployable_in_the_region() -> None:
    no_global = arm_model("gpt-5.4-mini", "2026-03-17", fine_tune=True, skus=("Standard",))
    arm = FakeArm(models={"swedencentral": [no_global, CHAT_ONLY]})
    with pytest.raises(HookError, match=r"base deployment's model .* cannot be deployed as Global"):
        run(plan("gpt-5.4-mini-2026-03-17"), arm)
    assert run(plan("gpt-5.4-mini-2026-03-17", deploy_base=False), arm) == []
    with pytest.raises(HookError, match=r"grader deployment's model gpt-4o-2024-08-06"):
        run(
            plan(
                "gpt-5.4-mini-2026-03-17",
                deploy_base=False,
                deploy_grader=True,
                grader_model="gpt-4o-2024-08-06",
            ),
            arm,
        )


def test_an_existing_account_without_its_group_is_refused_before_asking_azure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    environ = {
        "AZURE_SUBSCRIPTION_ID": "sub",
        "TUNEDROP_MODEL": "gpt-5.4-mini-2026-03-17",
        "AZURE_OPENAI_EXISTING_NAME": "my-aoai",
    }
    assert main(environ) == 1
    assert "AZURE_OPENAI_EXISTING_RESOURCE_GROUP" in caplog.text


def test_the_plan_reads_the_variables_main_parameters_json_maps() -> None:
    parameters = json.loads((REPO_ROOT / "infra" / "main.parameters.json").read_text())[
        "parameters"
    ]
    assert parameters["defaultModel"]["value"] == "${TUNEDROP_MODEL}"
    assert parameters["openAiLocation"]["value"] == (
        "${AZURE_OPENAI_LOCATION=" + DEFAULT_OPENAI_LOCATION + "}"
    )
    read = Plan.from_env({"AZURE_SUBSCRIPTION_ID": "s", "TUNEDROP_GRADER_MODEL": "gpt-5.1",
                          "TUNEDROP_GRADER_MODEL_VERSION": "2025-11-13"})  # fmt: skip
    assert (read.openai_location, read.grader_model) == (
        DEFAULT_OPENAI_LOCATION,
        "gpt-5.1-2025-11-13",
    )
    assert read.deploy_base and not read.deploy_grader


def test_bicep_takes_its_openai_regions_and_default_from_the_one_table() -> None:
    parameters = parsed(REPO_ROOT / "infra" / "main.bicep")["parameters"]
    region = parameters["openAiLocation"]
    allowed = next(d["argument"] for d in region["decorators"] if d["type"] == "allowed")
    assert tuple(allowed) == standard_fine_tuning_regions()
    assert region["default"] == DEFAULT_OPENAI_LOCATION
    assert parameters["defaultModel"]["default"] is None, "the model is a choice made at azd up"


def test_the_docs_table_leaves_no_supervised_model_open_to_a_new_customer_today() -> None:
    # What the README says: every SFT model of the docs table retired for new customers.
    assert open_to_new_customers(DOCS_READ_ON) == ()
    assert open_to_new_customers(date(2026, 9, 1)) != ()
