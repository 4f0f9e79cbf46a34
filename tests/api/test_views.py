"""JSON views of runs: what a client follows a run by, and nothing that opens anything."""

import json
from dataclasses import replace
from datetime import UTC, datetime

from shared.api.links import reports_container_url
from shared.api.views import epoch_steps, metrics_view, run_view
from shared.runs.config import RunConfig
from shared.runs.curves import LossPoint, Verdict
from shared.runs.facts import Checkpoint, Claim, FileVerdict, JobInfo, UploadedFile
from shared.runs.names import FileKind
from shared.runs.record import Run
from shared.settings import Settings

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ENV = {
    "AZURE_OPENAI_ENDPOINT": "https://acct.openai.azure.com",
    "AZURE_SUBSCRIPTION_ID": "sub",
    "AZURE_RESOURCE_GROUP": "rg",
    "AZURE_OPENAI_ACCOUNT": "acct",
    "AZURE_OPENAI_API_KEY": "sk-secret-key",
}


def started_run() -> Run:
    run = Run.new("minato", T0)
    run.files[FileKind.TRAIN] = FileVerdict("0x8DABC", True, "minato/train.jsonl.report.json",
                                            "valid: 12 examples", T0, {"examples": 12})  # fmt: skip
    run.start(T0, RunConfig(model="gpt-4o-mini-2024-07-18", n_epochs=3), "files passed")
    run.file_uploaded(FileKind.TRAIN, UploadedFile("file-1", "minato--train.jsonl", "pending"), T0)
    run.job_created("ftjob-1", "running", T0)
    run.claim = Claim("PollJob", T0)
    run.overfitting = Verdict(False, "validation loss ends 2% above its lowest point", 1.1, 20)
    return run


def test_run_view_has_state_timeline_files_job_and_links() -> None:
    view = run_view(started_run(), reports_url="https://acct.blob.core.windows.net/reports")
    assert view["state"] == "queued"
    assert [(e["from"], e["to"]) for e in view["timeline"]] == [
        (None, "waiting_for_files"), ("waiting_for_files", "uploading"),
        ("uploading", "processing_files"), ("processing_files", "queued"),
    ]  # fmt: skip
    train = view["files"]["train.jsonl"]
    assert train["valid"] is True and train["examples"] == 12
    assert train["report_url"] == (
        "https://acct.blob.core.windows.net/reports/minato/train.jsonl.report.json"
    )
    assert view["job"]["id"] == "ftjob-1"
    assert view["config"]["hyperparameters"] == {
        "n_epochs": 3, "batch_size": "auto", "learning_rate_multiplier": "auto"
    }  # fmt: skip
    assert view["overfitting"]["best_valid_step"] == 20
    assert view["links"]["chat"] == "/api/runs/minato/chat"
    json.dumps(view)  # JSON-ready


def test_run_view_leaves_out_etags_and_internal_claims() -> None:
    text = json.dumps(run_view(started_run()))
    assert "0x8DABC" not in text
    assert "claim" not in text and "PollJob" not in text


def test_reports_url_never_carries_the_account_key_or_a_sas() -> None:
    connection = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=c2VjcmV0;"
        "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
    )
    settings = Settings.from_env({**ENV, "AzureWebJobsStorage": connection})
    assert (
        reports_container_url(settings)
        == "http://127.0.0.1:10000/devstoreaccount1/training-reports"
    )
    sas = "BlobEndpoint=https://a.blob.core.windows.net/?sv=2024&sig=c2VjcmV0;SharedAccessSignature=sv"
    settings = Settings.from_env({**ENV, "AzureWebJobsStorage": sas})
    assert reports_container_url(settings) == "https://a.blob.core.windows.net/training-reports"
    settings = Settings.from_env({**ENV, "AzureWebJobsStorage__accountName": "prodacct"})
    assert (
        reports_container_url(settings) == "https://prodacct.blob.core.windows.net/training-reports"
    )


def test_epochs_come_from_the_full_validation_rows_when_there_are_some() -> None:
    points = [LossPoint(step=s, train_loss=1.0, full_valid_loss=1.0 if s % 4 == 0 else None)
              for s in range(1, 13)]  # fmt: skip
    assert epoch_steps(points, started_run()) == [4, 8, 12]


def test_epochs_come_from_checkpoint_spacing_without_a_validation_file() -> None:
    run = started_run()
    assert run.job is not None
    run.job.checkpoints = [Checkpoint(f"c{s}", s, "m") for s in (10, 15, 20)]
    points = [LossPoint(step=s, train_loss=1.0) for s in range(1, 21)]
    assert epoch_steps(points, run) == [5, 10, 15, 20]


def test_epochs_come_from_a_fixed_epoch_count_as_a_last_resort_and_never_from_auto() -> None:
    run = started_run()
    points = [LossPoint(step=s, train_loss=1.0) for s in range(1, 31)]
    assert epoch_steps(points, run) == [10, 20, 30]
    run.config = replace(run.config, n_epochs="auto")  # type: ignore[arg-type]
    assert epoch_steps(points, run) == []
    assert epoch_steps([], run) == []


def test_metrics_view_lists_points_without_empty_columns() -> None:
    run = started_run()
    run.job = JobInfo("ftjob-1", "running", T0)
    view = metrics_view(run, [LossPoint(step=1, train_loss=2.5, train_accuracy=0.4)])
    assert view["points"] == [{"step": 1, "train_loss": 2.5, "train_accuracy": 0.4}]
    assert view["run"] == "minato" and view["state"] == "queued"


def test_the_hyperparameters_the_service_chose_are_shown_next_to_what_was_asked() -> None:
    run = started_run()
    before = run_view(run)["hyperparameters"]
    assert before["batch_size"] == {"requested": "auto", "used": None}
    run.job_observed(
        "running",
        T0,
        hyperparameters={"n_epochs": 3, "batch_size": 1, "learning_rate_multiplier": 0.1},
        seed=1234,
    )
    assert run_view(run)["hyperparameters"] == {
        "n_epochs": {"requested": 3, "used": 3},
        "batch_size": {"requested": "auto", "used": 1},
        "learning_rate_multiplier": {"requested": "auto", "used": 0.1},
        "seed": {"requested": None, "used": 1234},
    }
