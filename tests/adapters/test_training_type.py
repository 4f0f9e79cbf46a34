"""run.json's training_type reaches the service as `trainingType`, on an api-version that
takes it (2025-04-01-preview), and the emulator queues the job by that type's running limit."""

from __future__ import annotations

from shared.pipeline.protocols import JobSpec
from tests.emulator.helpers import BASE_MODEL, TRAINING_PAIRS, chat_jsonl, upload_processed


def test_a_developer_job_is_created_with_training_type_on_a_version_that_takes_it(
    real_services, emulator
):
    fine_tuning = real_services.fine_tuning
    train = upload_processed(fine_tuning._client, chat_jsonl(TRAINING_PAIRS))
    created = fine_tuning.create_job(
        JobSpec(model=BASE_MODEL, training_file=train, training_type="developer")
    )
    post = [r for r in emulator.requests() if r.method == "POST" and r.path.endswith("/jobs")][-1]
    assert post.query.get("api-version") == "2025-04-01-preview" and post.status == 201
    assert emulator._state.jobs[created.id].training_type == "developer"
