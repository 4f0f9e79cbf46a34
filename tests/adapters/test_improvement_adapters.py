"""BlobInboxWriter and BlobImprovementFiles on Azurite: a child run's blobs are created only
where none is, so an uploaded blob is never changed."""

from __future__ import annotations

from shared.improvement.adapters import BlobImprovementFiles, BlobInboxWriter


def test_a_blob_that_exists_is_left_as_it_is_and_reported_so(blob_service, container_names):
    inbox_name, _ = container_names
    uploaded = blob_service.get_blob_client(inbox_name, "kitsune-r2/train.jsonl")
    etag = uploaded.upload_blob(b"the user's file", overwrite=True)["etag"]
    writer = BlobInboxWriter(blob_service, inbox_name)

    assert writer.create("kitsune-r2/train.jsonl", b"tunedrop's version") is False
    assert uploaded.download_blob().readall() == b"the user's file"
    assert uploaded.get_blob_properties().etag == etag
    assert writer.create("kitsune-r2/run.json", b"{}") is True
    assert writer.has_folder("kitsune-r2") and not writer.has_folder("kitsune-r3")
    assert not writer.has_folder("kitsune")  # a prefix of a name is not its folder


def test_report_files_read_back_as_text_and_a_missing_one_is_none(blob_service, container_names):
    _, reports_name = container_names
    files = BlobImprovementFiles(blob_service, reports_name)
    files.write_text("kitsune/improvement/kitsune-r2/train.jsonl", "行\n", "application/jsonl")
    assert files.read_text("kitsune/improvement/kitsune-r2/train.jsonl") == "行\n"
    assert files.read_text("kitsune/absent.jsonl") is None
