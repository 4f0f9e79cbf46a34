"""Every JSON answer the emulator gives validates against the specs' schemas (jsonschema).

The specs ship with the tests in tests/emulator/specs/ (trimmed public specs, MIT).
Chat answers have no spec here: they must validate as the `openai` package's ChatCompletion.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletion

from localdev.emulator import Emulator, Fault, Timings, running_emulator
from localdev.emulator.conformance import (
    DEFAULT_SPEC_DIR,
    SpecSchemas,
    arm_schemas,
    data_plane_schemas,
)
from tests.emulator.helpers import (
    BASE_MODEL,
    TRAINING_PAIRS,
    VALIDATION_PAIRS,
    StoppableClock,
    chat_jsonl,
    deployment_of,
    finished_job,
    openai_client,
    raw,
    upload_processed,
)

Answers = dict[str, tuple[str, Any]]  # label -> (definition, JSON body)
RETIRED_FINE_TUNING = "2027-04-01"  # gpt-4o-mini's fine-tuning retires (the catalog's day)


def _json(response: Any) -> Any:
    return json.loads(response.text)


def _data_plane_answers(emulator: Emulator, clock: StoppableClock) -> Answers:
    client = openai_client(emulator)
    uploaded = client.files.with_raw_response.create(
        file=("train.jsonl", chat_jsonl(TRAINING_PAIRS)), purpose="fine-tune"
    )
    file_id = _json(uploaded)["id"]
    upload_processed(client, chat_jsonl(TRAINING_PAIRS))  # waits past processing
    valid_id = upload_processed(client, chat_jsonl(VALIDATION_PAIRS * 4), "valid.jsonl")
    bad_id = upload_processed(client, chat_jsonl(TRAINING_PAIRS) + b"not json\n", "bad.jsonl")
    # The emulator's clock stands still while a job is looked at before it ends, and while one
    # is cancelled: it cannot finish in between, however slow the machine.
    with clock.stopped():
        created = client.fine_tuning.jobs.with_raw_response.create(
            model=BASE_MODEL,
            training_file=file_id,
            validation_file=valid_id,
            hyperparameters={"n_epochs": 2},
        )
        job_id = _json(created)["id"]
        running = raw(emulator, "GET", f"/openai/fine_tuning/jobs/{job_id}")[2]
    finished_job(client, job_id)
    emulator.inject(Fault("job_fails", message="It broke."))
    failed_id = client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=file_id).id
    with clock.stopped():
        cancelled = client.fine_tuning.jobs.with_raw_response.create(
            model=BASE_MODEL, training_file=file_id
        )
        jobs = "/openai/fine_tuning/jobs"
        cancel = raw(emulator, "POST", f"{jobs}/{_json(cancelled)['id']}/cancel")[2]
    finished_job(client, failed_id)
    jobs = "/openai/fine_tuning/jobs"
    return {
        "uploaded file": ("File", _json(uploaded)),
        "processed file": ("File", raw(emulator, "GET", f"/openai/files/{file_id}")[2]),
        "file in error": ("File", raw(emulator, "GET", f"/openai/files/{bad_id}")[2]),
        "file list": ("FileList", raw(emulator, "GET", "/openai/files")[2]),
        "deleted file": ("FileDelete", raw(emulator, "DELETE", f"/openai/files/{bad_id}")[2]),
        "created job": ("FineTuningJob", _json(created)),
        "running job": ("FineTuningJob", running),
        "succeeded job": ("FineTuningJob", raw(emulator, "GET", f"{jobs}/{job_id}")[2]),
        "failed job": ("FineTuningJob", raw(emulator, "GET", f"{jobs}/{failed_id}")[2]),
        "cancelled job": ("FineTuningJob", cancel),
        "job list": ("FineTuningJobList", raw(emulator, "GET", jobs)[2]),
        "events": ("FineTuningJobEventList", raw(emulator, "GET", f"{jobs}/{job_id}/events")[2]),
        "failed events": (
            "FineTuningJobEventList",
            raw(emulator, "GET", f"{jobs}/{failed_id}/events")[2],
        ),
        "checkpoints": (
            "FineTuningJobCheckpointList",
            raw(emulator, "GET", f"{jobs}/{job_id}/checkpoints")[2],
        ),
        "models": ("ModelList", raw(emulator, "GET", "/openai/models")[2]),
        "base model": ("Model", raw(emulator, "GET", f"/openai/models/{BASE_MODEL}")[2]),
        "error 400": ("ErrorResponse", raw(emulator, "POST", jobs, body={"model": BASE_MODEL})[2]),
        "error 404": ("ErrorResponse", raw(emulator, "GET", "/openai/files/file-missing")[2]),
        "error 401": ("ErrorResponse", raw(emulator, "GET", "/openai/files", headers={})[2]),
    }


def _arm_answers(emulator: Emulator, fine_tuned_model: str) -> Answers:
    path = f"{emulator.account_id}/deployments"
    provider = f"/subscriptions/{emulator.subscription_id}/providers/Microsoft.CognitiveServices"
    location = f"{provider}/locations/eastus"
    put = deployment_of(fine_tuned_model, "1").serialize()
    return {
        "created deployment": (
            "Deployment",
            raw(emulator, "PUT", f"{path}/tuned", body=put, plane="arm")[2],
        ),
        "deployment": ("Deployment", raw(emulator, "GET", f"{path}/gpt-4o", plane="arm")[2]),
        "deployment list": ("DeploymentListResult", raw(emulator, "GET", path, plane="arm")[2]),
        "ARM error 400": (
            "ErrorResponse",
            raw(
                emulator,
                "PUT",
                f"{path}/x",
                body=deployment_of("nope", "1").serialize(),
                plane="arm",
            )[2],
        ),
        "ARM error 404": ("ErrorResponse", raw(emulator, "GET", f"{path}/missing", plane="arm")[2]),
        "ARM error 401": ("ErrorResponse", raw(emulator, "GET", path, plane="arm", headers={})[2]),
        "location models": (
            "ModelListResult",
            raw(emulator, "GET", f"{location}/models", plane="arm")[2],
        ),
        "account models": (
            "AccountModelListResult",
            raw(emulator, "GET", f"{emulator.account_id}/models", plane="arm")[2],
        ),
        # gpt-4o-mini 2024-07-18 retired on 2026-10-01 (the dated catalog).
        "ARM error retired model": (
            "ErrorResponse",
            raw(
                emulator,
                "PUT",
                f"{path}/retired",
                body=deployment_of("gpt-4o-mini", "2024-07-18").serialize(),
                plane="arm",
            )[2],
        ),
    }


def _answers_past_retirement(emulator: Emulator, clock: StoppableClock) -> Answers:
    """Answers once the clock is past gpt-4o-mini's fine-tuning retirement (2027-04-01)."""
    retired = emulator.catalog.unix(RETIRED_FINE_TUNING)
    clock.advance(max(0.0, retired - clock()) + 3600)
    jobs = "/openai/fine_tuning/jobs"
    refused = raw(emulator, "POST", jobs, body={"model": BASE_MODEL, "training_file": "file-x"})
    return {
        "error fine-tuning retired": ("ErrorResponse", refused[2]),
        "models after retirement": ("ModelList", raw(emulator, "GET", "/openai/models")[2]),
    }


@pytest.fixture(scope="module")
def answers() -> Iterator[tuple[Answers, Answers, Emulator]]:
    clock = StoppableClock()
    with running_emulator(timings=Timings.fast(), clock=clock) as emulator:
        data = _data_plane_answers(emulator, clock)
        arm = _arm_answers(emulator, data["succeeded job"][1]["fine_tuned_model"])
        data |= _answers_past_retirement(emulator, clock)
        yield data, arm, emulator


@pytest.fixture(scope="module")
def data_schemas() -> SpecSchemas:
    return data_plane_schemas()


@pytest.fixture(scope="module")
def management_schemas() -> SpecSchemas:
    return arm_schemas()


DATA_LABELS = [
    "uploaded file", "processed file", "file in error", "file list", "deleted file", "created job",
    "running job", "succeeded job", "failed job", "cancelled job", "job list", "events",
    "failed events", "checkpoints", "models", "base model", "error 400", "error 404", "error 401",
    "error fine-tuning retired", "models after retirement",
]  # fmt: skip
ARM_LABELS = [
    "created deployment", "deployment", "deployment list", "ARM error 400", "ARM error 404",
    "ARM error 401", "location models", "account models", "ARM error retired model",
]  # fmt: skip


@pytest.mark.parametrize("label", DATA_LABELS)
def test_each_data_plane_answer_validates_against_the_spec(
    answers, data_schemas, label: str
) -> None:
    definition, body = answers[0][label]
    data_schemas.validate(body, definition)


@pytest.mark.parametrize("label", ARM_LABELS)
def test_each_arm_answer_validates_against_the_spec(
    answers, management_schemas, label: str
) -> None:
    definition, body = answers[1][label]
    management_schemas.validate(body, definition)
    if definition == "ErrorResponse":
        assert body["error"]["code"] and body["error"]["message"]


def test_the_answers_cover_the_states_they_are_named_after(answers) -> None:
    data, arm, _ = answers
    states = {
        label: data[label][1].get("status") for label in data if "job" in label or "file" in label
    }
    assert states["file in error"] == "error" and states["failed job"] == "failed"
    assert (
        states["running job"] in ("pending", "running") and states["cancelled job"] == "cancelled"
    )
    assert arm["created deployment"][1]["properties"]["provisioningState"] == "Creating"


def test_the_specs_ship_with_the_tests_so_no_check_is_skipped() -> None:
    assert DEFAULT_SPEC_DIR.parent == Path(__file__).resolve().parent
    names = sorted(path.name for path in DEFAULT_SPEC_DIR.glob("*.json"))
    assert names == [
        "azure-openai-authoring-2024-10-21.json",
        "cognitiveservices-arm-2026-09-01.json",
    ]
    assert "MIT License" in (DEFAULT_SPEC_DIR / "LICENSE").read_text(encoding="utf-8")


def test_the_validator_catches_an_answer_that_breaks_the_spec(data_schemas) -> None:
    with pytest.raises(AssertionError, match="'finished' is not one of"):
        data_schemas.validate(
            {"model": "m", "training_file": "f", "status": "finished"}, "FineTuningJob"
        )


def test_chat_answers_validate_as_the_openai_chat_completion(answers) -> None:
    emulator = answers[2]
    client = openai_client(emulator)
    answer = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}]
    )
    completion = ChatCompletion.model_validate(_json(answer))
    assert completion.choices[0].message.role == "assistant"
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(
            model="missing", messages=[{"role": "user", "content": "Hi"}]
        )
    assert set(missing.value.body) == {"code", "message"}


def test_the_catalog_answers_say_what_retired(answers) -> None:
    data, arm, emulator = answers
    retired = emulator.catalog.day(RETIRED_FINE_TUNING)
    mini = next(m for m in data["models"][1]["data"] if m["id"] == BASE_MODEL)
    assert mini["capabilities"]["fine_tune"] is True and mini["deprecation"]["fine_tune"] > 0
    after = next(m for m in data["models after retirement"][1]["data"] if m["id"] == BASE_MODEL)
    assert after["capabilities"]["fine_tune"] is False
    refused = data["error fine-tuning retired"][1]["error"]
    assert f"retired on {retired}" in refused["message"]
    assert arm["ARM error retired model"][1]["error"]["code"] == "ServiceModelDeprecated"
    listed = {m["model"]["name"]: m["model"] for m in arm["location models"][1]["value"]}
    assert listed["gpt-4o-mini"]["lifecycleStatus"] == "Deprecated"
    assert listed["gpt-4o-mini"]["deprecation"]["fineTune"].startswith(retired)
    assert listed["gpt-oss-20b"]["finetuneCapabilities"]
