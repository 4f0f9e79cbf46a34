"""The emulated account's models come from the dated catalog file and age by its clock.

Read through the real clients: `openai`'s `models.list()`, and the ARM SDK's `models.list`
(Models_List, per region) and `accounts.list_models` (Accounts_ListModels).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import openai
import pytest
from azure.core.exceptions import HttpResponseError

from localdev.emulator import Emulator, Timings, running_emulator
from localdev.emulator.catalog import CATALOG_FILE
from tests.emulator.helpers import (
    TRAINING_PAIRS,
    StoppableClock,
    arm_client,
    chat_jsonl,
    deployment_of,
    finished_job,
    openai_client,
    upload_processed,
)

DAY = 24 * 3600
TUNABLE = "gpt-4.1-mini-2025-04-14"


@pytest.fixture(scope="module")
def clock() -> StoppableClock:
    return StoppableClock()


@pytest.fixture(scope="module")
def emulator(clock: StoppableClock) -> Iterator[Emulator]:
    with running_emulator(timings=Timings.fast(), clock=clock) as running:
        yield running


def test_the_catalog_file_is_dated_and_names_its_sources() -> None:
    data = json.loads(CATALOG_FILE.read_text(encoding="utf-8"))
    assert data["checked_on"] == "2026-12-06"
    assert any("concepts-model-retirement-schedule" in source for source in data["sources"])


def test_the_data_plane_lists_each_models_capabilities_and_retirement(emulator) -> None:
    models = {m.id: m.to_dict() for m in openai_client(emulator).models.list()}
    mini = models["gpt-4o-mini-2024-07-18"]
    # Retired as a base model on 2026-10-01; training goes on for existing customers.
    assert mini["capabilities"]["inference"] is False
    assert mini["deprecation"]["fine_tune"] == emulator.catalog.unix("2027-04-01")
    assert models["gpt-oss-20b"]["capabilities"]["fine_tune"] is True
    assert models["gpt-5-2025-08-07"]["capabilities"]["fine_tune"] is False


def test_arm_lists_the_models_of_a_region_and_of_the_account(emulator) -> None:
    arm = arm_client(emulator)
    region = {m.model.name: m.model for m in arm.models.list("swedencentral")}
    assert region["gpt-4o-mini"].lifecycle_status == "Deprecated"
    assert region["gpt-4o-mini"].deprecation.fine_tune.startswith(
        emulator.catalog.day("2027-04-01")
    )
    assert region["gpt-oss-20b"].finetune_capabilities
    account = {
        m.name: m for m in arm.accounts.list_models(emulator.resource_group, emulator.account_name)
    }
    assert account["gpt-4.1-mini"].deprecation.inference.startswith(
        emulator.catalog.day("2026-10-14")
    )
    assert not account["gpt-5"].finetune_capabilities


def test_a_retired_base_model_is_not_deployed(emulator) -> None:
    arm = arm_client(emulator)
    with pytest.raises(HttpResponseError) as refused:
        arm.deployments.begin_create_or_update(
            emulator.resource_group, emulator.account_name, "old-mini",
            deployment_of("gpt-4o-mini", "2024-07-18"),
        ).result()  # fmt: skip
    assert refused.value.error.code == "ServiceModelDeprecated"
    since = date.fromisoformat(emulator.catalog.day("2026-10-01"))
    assert f"has been deprecated since {since:%m/%d/%Y}" in refused.value.error.message


def test_a_fine_tuned_model_is_trained_further_and_refused_once_its_base_retires(
    emulator, clock
) -> None:
    client = openai_client(emulator)
    training = upload_processed(client, chat_jsonl(TRAINING_PAIRS))
    first = finished_job(
        client, client.fine_tuning.jobs.create(model=TUNABLE, training_file=training).id
    )
    tuned = first.fine_tuned_model
    listed = {m.id: m.to_dict() for m in client.models.list()}
    assert listed[tuned]["capabilities"]["fine_tune"] is True

    second = client.fine_tuning.jobs.create(model=tuned, training_file=training)
    assert second.model == tuned
    assert finished_job(client, second.id).fine_tuned_model.startswith(f"{TUNABLE}.ft-")

    retired = emulator.catalog.day("2027-04-14")
    clock.advance(max(0.0, emulator.catalog.unix("2027-04-14") - clock()) + DAY)
    with pytest.raises(openai.BadRequestError) as refused:
        client.fine_tuning.jobs.create(model=TUNABLE, training_file=training)
    assert f"fine-tuning of {TUNABLE} retired on {retired}" in refused.value.message
    with pytest.raises(openai.BadRequestError):
        client.fine_tuning.jobs.create(model=tuned, training_file=training)


def test_a_test_may_bring_its_own_catalog(tmp_path: Path) -> None:
    data = json.loads(CATALOG_FILE.read_text(encoding="utf-8"))
    data["checked_on"] = datetime.now(UTC).date().isoformat()  # as of today: no date moves
    for model in data["models"]:
        if model["id"] == "gpt-oss-20b":
            model["fine_tune_retires"] = "2026-01-01"
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with running_emulator(timings=Timings.fast(), catalog_file=path) as emulator:
        models = {m.id: m.to_dict() for m in openai_client(emulator).models.list()}
    assert models["gpt-oss-20b"]["capabilities"]["fine_tune"] is False
