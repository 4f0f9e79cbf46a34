"""The emulator enforces the account's count limits, queues jobs past the running limit, deletes
idle fine-tuned deployments, and reports the highest use it has seen."""

from __future__ import annotations

import time
from collections.abc import Iterator

import openai
import pytest
from azure.core.exceptions import HttpResponseError

from localdev.emulator import Emulator, Fault, Timings, running_emulator
from localdev.emulator.limits import Limits
from tests.emulator.helpers import (
    BASE_MODEL,
    TRAINING_PAIRS,
    arm_client,
    chat_jsonl,
    deployment_of,
    finished_job,
    openai_client,
    raw,
    upload_processed,
    wait_until,
)

TRAIN = chat_jsonl(TRAINING_PAIRS)


class SettableClock:
    """Real time plus an offset a test can jump forward (days pass in a call)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock()


@pytest.fixture
def tight(clock: SettableClock) -> Iterator[Emulator]:
    limits = Limits(running_jobs=1, queued_jobs=1, deployments=1, files=4)
    with running_emulator(timings=Timings.fast(), limits=limits, clock=clock) as emulator:
        yield emulator


def test_limits_default_to_the_documented_values() -> None:
    limits = Limits()
    assert (limits.running_jobs, limits.queued_jobs, limits.total_jobs) == (3, 20, 100)
    assert (limits.deployments, limits.files, limits.file_bytes) == (10, 100, 1024**3)
    assert (limits.idle_deployment_days, limits.developer_running_jobs) == (15, 5)


def test_the_environment_variable_overrides_some_limits_and_refuses_unknown_keys() -> None:
    limits = Limits.from_environment('{"running_jobs": 1, "queued_jobs": 1, "files": 6}')
    assert (limits.running_jobs, limits.queued_jobs, limits.files) == (1, 1, 6)
    assert limits.deployments == 10
    with pytest.raises(ValueError, match="unknown keys flies"):
        Limits.from_environment('{"flies": 3}')
    with pytest.raises(ValueError, match="not JSON"):
        Limits.from_environment("{running")


def test_a_file_past_the_file_limit_is_refused_and_deleting_one_makes_room(tight: Emulator) -> None:
    client = openai_client(tight)
    ids = [client.files.create(file=("t.jsonl", TRAIN), purpose="fine-tune").id for _ in range(4)]
    with pytest.raises(openai.BadRequestError) as refused:
        client.files.create(file=("t.jsonl", TRAIN), purpose="fine-tune")
    assert refused.value.code == "quotaExceeded"
    assert "4 of 4" in refused.value.message
    client.files.delete(ids[0])
    client.files.create(file=("t.jsonl", TRAIN), purpose="fine-tune")
    assert tight.limits_report()["high_water"]["files"] == 4


def test_a_job_past_the_running_limit_waits_queued_and_past_the_queue_is_refused(
    tight: Emulator,
) -> None:
    client = openai_client(tight)
    train = upload_processed(client, TRAIN)
    first = client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=train)
    second = client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=train)
    with pytest.raises(openai.BadRequestError, match="queued and running jobs"):
        client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=train)
    wait_until(lambda: client.fine_tuning.jobs.retrieve(first.id), lambda j: j.status == "running")
    assert client.fine_tuning.jobs.retrieve(second.id).status == "pending"
    done = finished_job(client, first.id)
    assert finished_job(client, second.id).status == "succeeded"
    assert client.fine_tuning.jobs.retrieve(second.id).created_at <= done.finished_at
    marks = tight.limits_report()["high_water"]
    assert marks["running_jobs"] == 1
    assert marks["queued_jobs"] == 1


def test_cancelling_the_running_job_starts_the_queued_one(tight: Emulator) -> None:
    tight.set_limits(running_jobs=1)
    client = openai_client(tight)
    train = upload_processed(client, TRAIN)
    first = client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=train)
    second = client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=train)
    wait_until(lambda: client.fine_tuning.jobs.retrieve(first.id), lambda j: j.status == "running")
    client.fine_tuning.jobs.cancel(first.id)
    wait_until(lambda: client.fine_tuning.jobs.retrieve(second.id), lambda j: j.status == "running")


def test_a_deployment_past_the_limit_is_refused_base_deployments_do_not_count(
    tight: Emulator,
) -> None:
    client, arm = openai_client(tight), arm_client(tight)
    train = upload_processed(client, TRAIN)
    model = finished_job(
        client, client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=train).id
    ).fine_tuned_model
    group, account = tight.resource_group, tight.account_name
    arm.deployments.begin_create_or_update(
        group, account, "one", deployment_of(model, "1")
    ).result()
    with pytest.raises(HttpResponseError) as refused:
        arm.deployments.begin_create_or_update(group, account, "two", deployment_of(model, "1"))
    assert refused.value.status_code == 400
    assert refused.value.error is not None and refused.value.error.code == "QuotaExceeded"
    report = tight.limits_report()
    assert report["in_use"]["deployments"] == 1 and report["high_water"]["deployments"] == 1


@pytest.mark.parametrize(
    ("shape", "status", "retry_after"),
    [("400", 400, None), ("429", 429, "1"), ("429-no-retry-after", 429, None), ("409", 409, None)],
)
def test_a_refusal_takes_the_shape_the_limits_or_a_quota_fault_choose(
    tight: Emulator, shape: str, status: int, retry_after: str | None
) -> None:
    tight.set_limits(refusal=shape, files=1)
    body = {"purpose": "fine-tune", "filename": "x.jsonl", "content_url": "http://127.0.0.1:9/x"}
    raw(tight, "POST", "/openai/files/import", body=body)
    answer = raw(tight, "POST", "/openai/files/import", body=body)
    assert (answer[0], answer[1].get("Retry-After"), answer[2]["error"]["code"]) == (
        status,
        retry_after,
        "quotaExceeded",
    )
    tight.inject(Fault("quota", path_contains="/deployments/", shape=shape))
    path = (
        f"/subscriptions/{tight.subscription_id}/resourceGroups/{tight.resource_group}"
        f"/providers/Microsoft.CognitiveServices/accounts/{tight.account_name}/deployments/x"
    )
    answer = raw(tight, "GET", path, plane="arm")
    assert (answer[0], answer[1].get("Retry-After"), answer[2]["error"]["code"]) == (
        status,
        retry_after,
        "QuotaExceeded",
    )


def test_a_fine_tuned_deployment_without_chat_for_the_idle_days_is_deleted(
    tight: Emulator, clock: SettableClock
) -> None:
    client, arm = openai_client(tight), arm_client(tight)
    train = upload_processed(client, TRAIN)
    model = finished_job(
        client, client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=train).id
    ).fine_tuned_model
    group, account = tight.resource_group, tight.account_name
    arm.deployments.begin_create_or_update(group, account, "ft", deployment_of(model, "1")).result()
    clock.offset += 14 * 86400
    assert arm.deployments.get(group, account, "ft").name == "ft"
    assert arm.deployments.get(group, account, "gpt-4o-mini").name == "gpt-4o-mini"
    clock.offset += 2 * 86400
    assert [d.name for d in arm.deployments.list(group, account)] == ["gpt-4o-mini", "gpt-4o"]
    client.models.list()  # the model stays: it can be deployed again
    arm.deployments.begin_create_or_update(group, account, "ft", deployment_of(model, "1")).result()


def test_limits_are_read_and_changed_over_http(tight: Emulator) -> None:
    status, _, report = raw(tight, "PUT", "/_emulator/limits", body={"deployments": 2})
    assert status == 200 and report["limits"]["deployments"] == 2
    assert set(report["high_water"]) >= {"files", "running_jobs", "deployments"}
    status, _, error = raw(tight, "PUT", "/_emulator/limits", body={"deployments": -1})
    assert status == 400 and "above 0" in error["error"]["message"]
    assert raw(tight, "GET", "/_emulator/limits")[2]["limits"]["deployments"] == 2


def test_a_developer_job_waits_only_for_the_developer_limit(tight: Emulator) -> None:
    tight.set_limits(queued_jobs=5, developer_running_jobs=2, files=20)
    client = openai_client(tight)
    preview = {"api-version": "2025-04-01-preview"}
    train = upload_processed(client, TRAIN)
    standard = [client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=train) for _ in "ab"]
    developer = [
        client.fine_tuning.jobs.create(
            model=BASE_MODEL,
            training_file=train,
            extra_body={"trainingType": "Developer"},
            extra_query=preview,
        )
        for _ in "ab"
    ]
    wait_until(
        lambda: [client.fine_tuning.jobs.retrieve(j.id).status for j in developer],
        lambda statuses: statuses == ["running", "running"],
    )
    assert client.fine_tuning.jobs.retrieve(standard[1].id).status == "pending"
    with pytest.raises(openai.BadRequestError, match="trainingType"):
        client.fine_tuning.jobs.create(
            model=BASE_MODEL,
            training_file=train,
            extra_body={"trainingType": "Turbo"},
            extra_query=preview,
        )
