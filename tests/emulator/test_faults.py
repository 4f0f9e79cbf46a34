"""Injected faults, through `Emulator.inject` and the admin endpoint, and the request log."""

from __future__ import annotations

import threading
from collections.abc import Callable

import openai
import pytest
from azure.core.exceptions import HttpResponseError

from localdev.emulator import Emulator, Fault
from tests.emulator.helpers import (
    BASE_MODEL,
    TRAINING_PAIRS,
    arm_client,
    chat_jsonl,
    finished_job,
    openai_client,
    raw,
    upload_processed,
    wait_until,
)

pytestmark = pytest.mark.usefixtures("no_faults_left")


def test_throttling_answers_429_with_retry_after_the_given_number_of_times(
    emulator: Emulator, client: openai.AzureOpenAI
) -> None:
    emulator.inject(
        Fault("throttle", path_contains="/fine_tuning/jobs", method="GET", times=2, retry_after=7)
    )
    for _ in range(2):
        with pytest.raises(openai.RateLimitError) as throttled:
            client.fine_tuning.jobs.list()
        assert throttled.value.response.headers["retry-after"] == "7"
        assert throttled.value.body["code"] == "tooManyRequests"
    client.fine_tuning.jobs.list()


def test_the_openai_client_retries_through_one_throttled_answer(emulator: Emulator) -> None:
    emulator.inject(Fault("throttle", path_contains="/openai/models", retry_after=0))
    before = emulator.count("GET", "/openai/models")
    assert openai_client(emulator, max_retries=2).models.list().data
    assert emulator.count("GET", "/openai/models") - before == 2


def test_a_server_error_answers_500(emulator: Emulator, client: openai.AzureOpenAI) -> None:
    emulator.inject(Fault("server_error", path_contains="/chat/completions"))
    with pytest.raises(openai.InternalServerError) as failed:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}]
        )
    assert failed.value.status_code == 500
    assert client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}]
    )


def test_a_timeout_holds_the_request_past_the_client_timeout_and_is_logged_unanswered(
    emulator: Emulator,
) -> None:
    # Held until released: the client's own timeout always comes first, however slow the machine.
    emulator.inject(Fault("timeout", path_contains="/openai/files", hold_seconds=600))
    impatient = openai_client(emulator, timeout=0.3)
    before = emulator.count("GET", "/openai/files")
    with pytest.raises(openai.APITimeoutError):
        impatient.files.list()
    held = wait_until(
        lambda: [r.status for r in emulator.requests() if r.path == "/openai/files"][before:],
        bool,
    )
    emulator.release_holds()
    assert held == [0]
    impatient.files.list()


def test_a_long_hold_ends_when_the_test_releases_it_and_the_work_of_a_lost_answer_is_done(
    emulator: Emulator,
) -> None:
    emulator.inject(Fault("lost_answer", path_contains="/openai/files", hold_seconds=600))
    patient = openai_client(emulator, timeout=600)
    outcome: list[BaseException] = []
    before = emulator.count("GET", "/openai/files")
    caller = threading.Thread(target=lambda: _record_error(outcome, patient.files.list))
    caller.start()
    wait_until(lambda: emulator.count("GET", "/openai/files"), lambda count: count > before)
    assert caller.is_alive(), "the hold ended before it was released"
    assert raw(emulator, "DELETE", "/_emulator/holds")[0] == 204  # release_holds(), over HTTP
    caller.join(timeout=30)
    assert not caller.is_alive() and isinstance(outcome[0], openai.APIConnectionError)


def _record_error(outcome: list[BaseException], call: Callable[[], object]) -> None:
    try:
        call()
    except BaseException as error:  # the test reads it
        outcome.append(error)


def test_a_job_fault_ends_the_next_job_failed_with_the_message(
    emulator: Emulator, client: openai.AzureOpenAI
) -> None:
    file_id = upload_processed(client, chat_jsonl(TRAINING_PAIRS))
    emulator.inject(
        Fault(
            "job_fails",
            message="Training data contained disallowed content.",
            code="content_filter",
        )
    )
    job = client.fine_tuning.jobs.create(
        model=BASE_MODEL, training_file=file_id, hyperparameters={"n_epochs": 1}
    )
    failed = finished_job(client, job.id)
    assert failed.status == "failed"
    assert (failed.error.code, failed.error.message) == (
        "content_filter",
        "Training data contained disallowed content.",
    )
    assert failed.fine_tuned_model is None
    events = list(client.fine_tuning.jobs.list_events(job.id))
    assert (events[0].level, events[0].message) == (
        "error",
        "Job failed: Training data contained disallowed content.",
    )


def test_a_file_fault_ends_the_next_file_in_error_with_the_message(
    emulator: Emulator, client: openai.AzureOpenAI
) -> None:
    emulator.inject(Fault("file_error", message="The file could not be scanned."))
    uploaded = client.files.create(
        file=("t.jsonl", chat_jsonl(TRAINING_PAIRS)), purpose="fine-tune"
    )
    final = wait_until(lambda: client.files.retrieve(uploaded.id), lambda f: f.status != "pending")
    assert (final.status, final.status_details) == ("error", "The file could not be scanned.")


def test_an_arm_fault_answers_500_to_the_management_client(emulator: Emulator) -> None:
    emulator.inject(Fault("server_error", path_contains="/deployments/gpt-4o"))
    arm = arm_client(emulator, retry_total=0)
    with pytest.raises(HttpResponseError) as failed:
        arm.deployments.get(emulator.resource_group, emulator.account_name, "gpt-4o")
    assert (failed.value.status_code, failed.value.error.code) == (500, "InternalServerError")


def test_faults_injected_over_http_act_and_show_in_the_request_log(emulator: Emulator) -> None:
    status, _, armed = raw(
        emulator,
        "POST",
        "/_emulator/faults",
        body={"kind": "throttle", "path_contains": "/openai/models"},
    )
    assert status == 201 and armed["data"][0]["kind"] == "throttle"
    assert raw(emulator, "GET", "/openai/models")[0] == 429
    _, _, log = raw(emulator, "GET", "/_emulator/requests")
    last = log["data"][-1]
    assert (last["method"], last["path"], last["status"], last["plane"]) == (
        "GET",
        "/openai/models",
        429,
        "openai",
    )
    raw(emulator, "POST", "/_emulator/faults", body=[{"kind": "server_error"}])
    assert raw(emulator, "DELETE", "/_emulator/faults")[0] == 204
    assert raw(emulator, "GET", "/_emulator/faults")[2] == {"data": []}
    assert raw(emulator, "GET", "/openai/models")[0] == 200


def test_a_malformed_fault_is_refused_with_the_reason(emulator: Emulator) -> None:
    status, _, body = raw(emulator, "POST", "/_emulator/faults", body={"kind": "meteor"})
    assert status == 400
    assert 'fault kind "meteor" is unknown' in body["error"]["message"]


def test_the_request_log_counts_what_was_served(
    emulator: Emulator, client: openai.AzureOpenAI
) -> None:
    file_id = upload_processed(client, chat_jsonl(TRAINING_PAIRS))
    before = emulator.count("POST", "/fine_tuning/jobs")
    for _ in range(2):
        job = client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=file_id)
        client.fine_tuning.jobs.cancel(job.id)
    # two creates and two cancels (".../cancel" also contains the path)
    assert emulator.count("POST", "/fine_tuning/jobs") - before == 4
    created = [
        r
        for r in emulator.requests()
        if r.method == "POST" and r.path == "/openai/fine_tuning/jobs"
    ]
    assert created[-1].status == 201 and created[-1].query == {"api-version": "2024-10-21"}


def test_a_file_fault_is_not_spent_on_a_jobs_results_file(
    emulator: Emulator, client: openai.AzureOpenAI
) -> None:
    file_id = upload_processed(client, chat_jsonl(TRAINING_PAIRS))
    emulator.inject(Fault("file_error", message="Scan failed."))
    job = client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=file_id)
    client.fine_tuning.jobs.cancel(job.id)
    uploaded = client.files.create(
        file=("t.jsonl", chat_jsonl(TRAINING_PAIRS)), purpose="fine-tune"
    )
    final = wait_until(lambda: client.files.retrieve(uploaded.id), lambda f: f.status != "pending")
    assert final.status_details == "Scan failed."
