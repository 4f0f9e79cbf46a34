"""Models retire: Tunedrop asks the account (the emulator, with a catalog of its own) before it
uploads anything, trains fine-tuned models further, and warns before a deployed model retires.

Real adapters throughout: Azurite for storage, the emulator over HTTP for Azure OpenAI and ARM.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient

from localdev.emulator import Emulator, Timings, running_emulator
from localdev.emulator.catalog import CATALOG_FILE, Catalog
from shared.adapters.event_table import TableEventStore
from shared.bootstrap import build_services
from shared.pipeline import advance_runs, get_run, handle_dropped_blob
from shared.pipeline.services import Services
from shared.runs.states import RunState
from tests.adapters.conftest import FixedTokenCredential, settings_for
from tests.emulator.helpers import StoppableClock
from tests.pipeline.data import TRAIN, VALIDATION

S = RunState
DEFAULT = "gpt-oss-20b"  # the DEFAULT_MODEL setting
TUNABLE = "gpt-4.1-mini-2025-04-14"
ENDING = "gpt-4.1-nano-2025-04-14"  # its fine-tuning retires in ten days in this account
NO_DEPLOY = {"hyperparameters": {"n_epochs": 1}, "deploy": {"enabled": False}}


def catalog_where(tmp: Path, **changes: dict[str, str]) -> Path:
    """The dated catalog with some models' dates changed (`id=dict(field=date)`), each given as
    the account is to show it: the file's calendar is replayed from today, so each is written
    back by as many days as the account will move it (`localdev.emulator.catalog`)."""
    data = json.loads(CATALOG_FILE.read_text(encoding="utf-8"))
    back = timedelta(days=Catalog.load().shift_days)
    for model in data["models"]:
        for field, day in changes.get(model["id"], {}).items():
            model[field] = (date.fromisoformat(day) - back).isoformat()
    path = tmp / "catalog.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def in_days(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%d")


@pytest.fixture(scope="module")
def emulator(tmp_path_factory) -> Iterator[Emulator]:
    """An account where the default model can no longer be fine-tuned, where models
    fine-tuned from gpt-4.1-mini stop answering in ten days, and gpt-4.1-nano's fine-tuning
    retires in ten days."""
    path = catalog_where(
        tmp_path_factory.mktemp("catalog"),
        **{
            DEFAULT: {"fine_tune_retires": "2026-01-01"},
            TUNABLE: {"fine_tuned_retires": in_days(10)},
            ENDING: {"fine_tune_retires": in_days(10)},
        },
    )
    with running_emulator(timings=Timings.fast(), catalog_file=path) as running:
        yield running


def services_on(azurite, emulator: Emulator) -> Services:
    settings = settings_for(azurite, emulator)
    services = build_services(settings, FixedTokenCredential())
    blobs = BlobServiceClient.from_connection_string(azurite.connection_string)
    blobs.create_container(settings.inbox_container)
    return services


@pytest.fixture
def services(azurite, emulator) -> Services:
    return services_on(azurite, emulator)


def drop_run(services: Services, azurite, run: str, config: str | None = None) -> None:
    blobs = BlobServiceClient.from_connection_string(azurite.connection_string)
    files = [("train.jsonl", TRAIN), ("validation.jsonl", VALIDATION)]
    if config is not None:
        files.insert(0, ("run.json", config.encode()))
    for name, data in files:
        blob = f"{run}/{name}"
        blobs.get_blob_client(services.inbox._container, blob).upload_blob(data, overwrite=True)
        handle_dropped_blob(services, blob, datetime.now(UTC))


def tick_until(services: Services, run: str, *states: RunState, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        advance_runs(services, datetime.now(UTC))
        record = get_run(services.runs, run)
        if record.state in states:
            return record
        if record.state.terminal:
            break
        time.sleep(0.05)
    raise AssertionError(f"run {run} is {record.state.value}, not one of {states}")


def unique(name: str) -> str:
    return f"{name}-{time.time_ns() % 10**9}"


def test_a_run_on_a_model_the_account_cannot_fine_tune_fails_before_upload_naming_others(
    services, emulator, azurite
) -> None:
    run = unique("retired-default")
    files_before = emulator.count("POST", "/openai/files")
    drop_run(services, azurite, run)  # no run.json: the default model

    record = tick_until(services, run, S.FAILED)

    assert f"cannot fine-tune now, the model '{DEFAULT}'" in record.failure_reason
    assert "(its fine-tuning retirement date: 2026-01-01)" in record.failure_reason
    assert TUNABLE in record.failure_reason  # the alternatives the account offers
    assert emulator.count("POST", "/openai/files") == files_before  # nothing uploaded
    assert S.UPLOADING not in [entry.to_state for entry in record.timeline]


def test_a_fine_tuned_model_of_the_account_is_trained_further(services, emulator, azurite) -> None:
    parent = unique("parent")
    drop_run(services, azurite, parent, json.dumps({**NO_DEPLOY, "model": TUNABLE}))
    tuned = tick_until(services, parent, S.SUCCEEDED).job.fine_tuned_model
    assert tuned.startswith(f"{TUNABLE}.ft-")

    by_name = unique("by-name")
    drop_run(services, azurite, by_name, json.dumps({**NO_DEPLOY, "model": tuned}))
    by_parent = unique("by-parent")
    drop_run(
        services, azurite, by_parent,
        json.dumps({**NO_DEPLOY, "from_run": parent}),
    )  # fmt: skip

    for child in (by_name, by_parent):
        record = tick_until(services, child, S.SUCCEEDED)
        job = services.fine_tuning._client.fine_tuning.jobs.retrieve(record.job.id)
        assert job.model == tuned
        assert record.config.model == tuned
    noted = [e.reason for e in get_run(services.runs, by_parent).timeline]
    assert f"continues training {tuned} (run {parent})" in noted


def test_a_deployed_model_near_its_retirement_raises_the_warning_once(
    services, emulator, azurite
) -> None:
    run = unique("retiring")
    config = {"model": TUNABLE, "hyperparameters": {"n_epochs": 1}, "evaluate": False}
    drop_run(services, azurite, run, json.dumps(config))
    tick_until(services, run, S.DEPLOYED)
    for _ in range(3):  # later ticks do not say it again
        advance_runs(services, datetime.now(UTC))

    record = get_run(services.runs, run)
    table = TableServiceClient.from_connection_string(azurite.connection_string)
    events = TableEventStore(table.get_table_client(services.settings.runs_table)).events(run)
    retiring = [e for e in events if e.type == "tunedrop.run.model_retiring"]
    assert len(retiring) == 1
    assert retiring[0].payload["data"]["model"] == record.deployment.model
    assert retiring[0].payload["data"]["retires_at"].startswith(in_days(10))
    assert [w for w in record.model_warnings if "retires on" in w] == record.model_warnings
    assert len(record.model_warnings) == 1
    notes = [e.reason for e in record.timeline if e.reason.startswith("warning: the deployed")]
    assert len(notes) == 1


def test_the_emulators_clock_past_a_retirement_turns_a_run_away(azurite) -> None:
    clock = StoppableClock()
    with running_emulator(timings=Timings.fast(), clock=clock) as emulator:
        services = services_on(azurite, emulator)
        retired = emulator.catalog.day("2027-04-14")
        clock.advance(max(0.0, emulator.catalog.unix("2027-04-14") - clock()) + 24 * 3600)
        run = unique("too-late")
        drop_run(services, azurite, run, json.dumps({"model": TUNABLE}))
        record = tick_until(services, run, S.FAILED)
    assert f"its fine-tuning retirement date: {retired}" in record.failure_reason
    assert DEFAULT in record.failure_reason  # still offered: the docs give it no date


def test_the_account_is_asked_once_per_hour_and_again_for_a_newly_expected_model(
    services, emulator
) -> None:
    catalog = services.models
    before = emulator.count("GET", "/openai/models")
    first = catalog.models()
    catalog.models()
    catalog.models(expecting=TUNABLE)  # listed: no new call
    assert emulator.count("GET", "/openai/models") == before + 1
    catalog.models(expecting="gpt-4.1-mini-2025-04-14.ft-not-yet")
    catalog.models(expecting="gpt-4.1-mini-2025-04-14.ft-not-yet")  # asked about once only
    assert emulator.count("GET", "/openai/models") == before + 2
    assert {m.id for m in first} >= {DEFAULT, TUNABLE}


def test_a_model_whose_fine_tuning_retires_within_30_days_starts_with_a_warning(
    services, azurite
) -> None:
    run = unique("ending")
    drop_run(services, azurite, run, json.dumps({**NO_DEPLOY, "model": ENDING}))
    record = tick_until(services, run, S.QUEUED, S.RUNNING, S.SUCCEEDED)
    assert record.model_warnings == [
        f"fine-tuning of {ENDING} retires on {in_days(10)} (the account says); plan a move to "
        "another model: gpt-4.1-2025-04-14, gpt-4.1-mini-2025-04-14, gpt-4o-2024-08-06, "
        "gpt-4o-mini-2024-07-18"
    ]
    assert f"warning: {record.model_warnings[0]}" in [e.reason for e in record.timeline]


def test_a_run_the_account_cannot_train_fails_at_once_on_a_full_account(azurite, emulator) -> None:
    """Room is not waited for on a model's behalf when the account cannot train it: the run
    fails now, naming the alternatives, instead of waiting for room that never comes."""
    # A run needs room for three files (training, validation, results): one never fits.
    settings = settings_for(azurite, emulator, ACCOUNT_MAX_FILES="1")
    services = build_services(settings, FixedTokenCredential())
    BlobServiceClient.from_connection_string(azurite.connection_string).create_container(
        settings.inbox_container
    )
    run = unique("full-and-retired")
    drop_run(services, azurite, run)  # no run.json: the default model, retired here

    record = tick_until(services, run, S.FAILED, timeout=30)

    assert f"cannot fine-tune now, the model '{DEFAULT}'" in record.failure_reason
    assert record.capacity_wait is None
    assert not any(entry.reason.startswith("waiting for") for entry in record.timeline)
