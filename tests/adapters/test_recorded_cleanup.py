"""Runs recorded before the clean-up existed: a finished run is not read by the timer, so
`reactivate_finished_runs` puts it back among the active runs and the timer deletes its files."""

from __future__ import annotations

from datetime import UTC, datetime

import openai
import pytest

from shared.adapters.table_store import _listing, _record, _run_key
from shared.pipeline import advance_runs, get_run
from shared.pipeline.recorded_cleanup import reactivate_finished_runs
from shared.runs.config import RunDefaults, default_config
from shared.runs.facts import FileVerdict, UploadedFile
from shared.runs.names import FileKind
from shared.runs.record import Run
from tests.adapters.test_full_run import unique
from tests.emulator.helpers import openai_client
from tests.pipeline.data import TRAIN


def test_a_run_finished_before_the_clean_up_existed_is_cleaned_once_reactivated(
    real_services, emulator
):
    client = openai_client(emulator)
    name, now = unique("old"), datetime.now(UTC)
    uploaded = client.files.create(file=(f"{name}--train.jsonl", TRAIN), purpose="fine-tune")
    theirs = client.files.create(file=("theirs.jsonl", TRAIN), purpose="fine-tune")
    run = Run.new(name, now)
    run.file_validated(FileKind.TRAIN, FileVerdict('"0x1"', True, "r", "valid", now))
    run.start(now, default_config(RunDefaults("gpt-4o-mini-2024-07-18")), "test")
    run.file_uploaded(
        FileKind.TRAIN, UploadedFile(uploaded.id, uploaded.filename, "processed"), now
    )
    run.fail("the service could not process train.jsonl", now)
    # Written as the store wrote finished runs before this change: no row among the active.
    table = real_services.runs._client()
    table.upsert_entity(_record(run, _run_key(name)))
    table.upsert_entity(_listing(run))
    assert name not in {r.name for r in real_services.runs.active()}

    assert name in reactivate_finished_runs(real_services)
    advance_runs(real_services, datetime.now(UTC))

    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(uploaded.id)
    assert client.files.retrieve(theirs.id).id == theirs.id
    record = get_run(real_services.runs, name)
    assert f"deleted train.jsonl ({uploaded.id}) from Azure OpenAI" in [
        e.reason for e in record.timeline
    ]
    assert name not in {r.name for r in real_services.runs.active()}
