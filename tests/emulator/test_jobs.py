"""Fine-tuning jobs through the real `openai` client."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from azure.core.exceptions import HttpResponseError

from localdev.emulator import Emulator, running_emulator
from tests.emulator.helpers import (
    BASE_MODEL,
    TRAINING_PAIRS,
    VALIDATION_PAIRS,
    StoppableClock,
    arm_client,
    chat_jsonl,
    deployment_of,
    finished_job,
    openai_client,
    upload_processed,
    wait_until,
)


@pytest.fixture(scope="module")
def training_file(emulator: Emulator) -> str:
    return upload_processed(openai_client(emulator), chat_jsonl(TRAINING_PAIRS))


@pytest.fixture(scope="module")
def validation_file(emulator: Emulator) -> str:
    return upload_processed(
        openai_client(emulator), chat_jsonl(VALIDATION_PAIRS * 4), "valid.jsonl"
    )


def test_a_job_on_a_file_still_pending_is_refused() -> None:
    # An emulator whose clock stands still: the file is pending whenever the job is asked for.
    clock = StoppableClock()
    with running_emulator(clock=clock) as stopped, clock.stopped():
        client = openai_client(stopped)
        pending = client.files.create(
            file=("t.jsonl", chat_jsonl(TRAINING_PAIRS)), purpose="fine-tune"
        )
        with pytest.raises(openai.BadRequestError) as refused:
            client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=pending.id)
    assert refused.value.body["code"] == "invalidPayload"
    assert "not ready for fine-tuning (status 'pending')" in refused.value.body["message"]


def test_a_job_on_an_unknown_file_is_refused(client: openai.AzureOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client.fine_tuning.jobs.create(model=BASE_MODEL, training_file="file-nope")
    assert "The training file 'file-nope' does not exist." in refused.value.body["message"]


def test_a_model_that_cannot_be_fine_tuned_is_refused(
    client: openai.AzureOpenAI, training_file: str
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client.fine_tuning.jobs.create(model="text-embedding-3-large", training_file=training_file)
    assert refused.value.body["message"] == "The specified base model does not support fine-tuning."


def test_hyperparameters_out_of_range_are_refused_naming_the_field(
    client: openai.AzureOpenAI, training_file: str
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client.fine_tuning.jobs.create(
            model=BASE_MODEL, training_file=training_file, hyperparameters={"n_epochs": 0}
        )
    assert "hyperparameters.n_epochs must be between 1 and 50" in refused.value.body["message"]


def test_auto_hyperparameters_read_minus_one_until_training_starts_then_the_chosen_values(
    client: openai.AzureOpenAI, training_file: str
) -> None:
    job = client.fine_tuning.jobs.create(
        model=BASE_MODEL,
        training_file=training_file,
        hyperparameters={"n_epochs": "auto", "batch_size": 2, "learning_rate_multiplier": "auto"},
    )
    hyper = job.hyperparameters  # pending: as the spec's example of a created job shows
    assert (hyper.n_epochs, hyper.batch_size, hyper.learning_rate_multiplier) == (-1, 2, -1)
    running = wait_until(
        lambda: client.fine_tuning.jobs.retrieve(job.id), lambda j: j.status != "pending"
    )
    client.fine_tuning.jobs.cancel(job.id)
    hyper = running.hyperparameters
    assert (hyper.n_epochs, hyper.batch_size, hyper.learning_rate_multiplier) == (9, 2, 0.1)
    assert isinstance(running.seed, int)


def test_a_job_reports_events_one_checkpoint_per_epoch_and_its_model(
    client: openai.AzureOpenAI, training_file: str
) -> None:
    job = client.fine_tuning.jobs.create(
        model=BASE_MODEL,
        training_file=training_file,
        hyperparameters={"n_epochs": 2, "batch_size": 6},
        seed=1,
    )
    done = finished_job(client, job.id)
    assert done.status == "succeeded"
    messages = [e.message for e in client.fine_tuning.jobs.list_events(job.id, limit=100)]
    assert messages[0] == "Job succeeded."
    assert messages[-1] == "Job enqueued. Waiting for jobs ahead to complete."
    assert "Fine-tuning job started." in messages
    assert f"Completed results file: {done.result_files[0]}" in messages
    assert any(m.startswith("Step 4/4: training loss=") for m in messages)
    checkpoints = list(client.fine_tuning.jobs.checkpoints.list(job.id))
    assert [c.step_number for c in checkpoints] == [4, 2]
    assert checkpoints[0].fine_tuned_model_checkpoint == f"{done.fine_tuned_model}:ckpt-step-4"
    assert all(c.id.startswith("ftchkpt-") and c.metrics.train_loss > 0 for c in checkpoints)
    models = {m.id for m in client.models.list()}
    assert done.fine_tuned_model in models


def test_events_page_through_with_after_and_limit(
    client: openai.AzureOpenAI, training_file: str
) -> None:
    job = client.fine_tuning.jobs.create(
        model=BASE_MODEL, training_file=training_file, hyperparameters={"n_epochs": 1}
    )
    finished_job(client, job.id)
    everything = [e.id for e in client.fine_tuning.jobs.list_events(job.id, limit=100).data]
    first = client.fine_tuning.jobs.list_events(job.id, limit=3)
    assert [e.id for e in first.data] == everything[:3] and first.has_more
    paged = [e.id for e in client.fine_tuning.jobs.list_events(job.id, limit=3)]  # auto-paging
    assert paged == everything


def test_a_cancelled_job_ends_cancelled_without_a_model_or_results(
    client: openai.AzureOpenAI, training_file: str
) -> None:
    job = client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=training_file)
    cancelled = client.fine_tuning.jobs.cancel(job.id)
    assert cancelled.status == "cancelled"
    assert client.fine_tuning.jobs.retrieve(job.id).fine_tuned_model is None
    assert cancelled.result_files == []
    with pytest.raises(openai.BadRequestError) as again:
        client.fine_tuning.jobs.cancel(job.id)
    assert "has already ended (cancelled)" in again.value.body["message"]


def test_jobs_are_listed_newest_first(client: openai.AzureOpenAI, training_file: str) -> None:
    first = client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=training_file)
    second = client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=training_file)
    for job in (first, second):
        client.fine_tuning.jobs.cancel(job.id)
    listed = [j.id for j in client.fine_tuning.jobs.list(limit=2).data]
    assert listed == [second.id, first.id]


def _epoch_losses(client: openai.AzureOpenAI, job_id: str) -> tuple[list[float], list[float]]:
    """Each epoch's last training loss and full validation loss, from the results file."""
    job = client.fine_tuning.jobs.retrieve(job_id)
    rows = client.files.content(job.result_files[0]).text.splitlines()[1:]
    ends = [row.split(",") for row in rows if row.split(",")[5]]
    return [float(row[1]) for row in ends], [float(row[5]) for row in ends]


def test_only_the_last_three_epochs_keep_a_checkpoint_and_each_deploys_and_chats(
    client: openai.AzureOpenAI, emulator: Emulator, training_file: str
) -> None:
    job = client.fine_tuning.jobs.create(
        model=BASE_MODEL, training_file=training_file, hyperparameters={"n_epochs": 5}, seed=2
    )
    done = finished_job(client, job.id)
    kept = list(client.fine_tuning.jobs.checkpoints.list(job.id))
    per_epoch = kept[0].step_number // 5
    assert [c.step_number for c in kept] == [5 * per_epoch, 4 * per_epoch, 3 * per_epoch]
    oldest = kept[-1].fine_tuned_model_checkpoint
    assert oldest == f"{done.fine_tuned_model}:ckpt-step-{3 * per_epoch}"
    assert kept[-1].id.startswith("ftchkpt-")
    arm = arm_client(emulator)
    group, account = emulator.resource_group, emulator.account_name
    # Deployed by its checkpoint ID, as the fine-tuning deploy page documents.
    arm.deployments.begin_create_or_update(
        group, account, "from-checkpoint", deployment_of(kept[-1].id, "1")
    ).result()
    dropped = f"{done.fine_tuned_model}:ckpt-step-{per_epoch}"
    for refused_name in (dropped, oldest):  # a dropped checkpoint; a name instead of the ID
        with pytest.raises(HttpResponseError) as refused:
            arm.deployments.begin_create_or_update(
                group, account, "from-dropped", deployment_of(refused_name, "1")
            ).result()
        assert "DeploymentModelNotSupported" in str(refused.value)
    answer = wait_until(lambda: _chat_or_none(client, "from-checkpoint"), lambda a: a is not None)
    assert answer.model == oldest and answer.choices[0].message.content
    arm.deployments.begin_delete(group, account, "from-checkpoint").result()


def _chat_or_none(client: openai.AzureOpenAI, deployment: str) -> Any:
    try:
        return client.chat.completions.create(
            model=deployment, messages=[{"role": "user", "content": TRAINING_PAIRS[0][0]}]
        )
    except openai.NotFoundError:
        return None  # not ready yet


def test_many_epochs_on_a_small_file_show_overfitting_and_few_epochs_do_not(
    client: openai.AzureOpenAI, training_file: str, validation_file: str
) -> None:
    jobs = {
        epochs: client.fine_tuning.jobs.create(
            model=BASE_MODEL,
            training_file=training_file,
            validation_file=validation_file,
            hyperparameters={"n_epochs": epochs, "batch_size": 4},
            seed=3,
        )
        for epochs in (3, 10)
    }
    for job in jobs.values():
        assert finished_job(client, job.id).status == "succeeded"
    train, valid = _epoch_losses(client, jobs[10].id)
    assert train == sorted(train, reverse=True)
    best = valid.index(min(valid))
    assert 0 < best < len(valid) - 1 and valid[-1] > valid[best]
    train, valid = _epoch_losses(client, jobs[3].id)
    assert train == sorted(train, reverse=True) and valid == sorted(valid, reverse=True)


def test_the_same_data_and_seed_give_the_same_results_file(
    client: openai.AzureOpenAI, training_file: str
) -> None:
    jobs = [
        client.fine_tuning.jobs.create(
            model=BASE_MODEL, training_file=training_file, hyperparameters={"n_epochs": 1}, seed=11
        )
        for _ in range(2)
    ]
    results = [client.files.content(finished_job(client, j.id).result_files[0]).text for j in jobs]
    assert results[0] == results[1]
    assert results[0].splitlines()[0] == (
        "step,train_loss,train_mean_token_accuracy,valid_loss,valid_mean_token_accuracy,"
        "full_valid_loss,full_valid_mean_token_accuracy"
    )


def test_the_models_list_offers_base_models_that_can_be_fine_tuned(
    client: openai.AzureOpenAI,
) -> None:
    models = {m.id: m for m in client.models.list()}
    assert models[BASE_MODEL].capabilities["fine_tune"] is True
