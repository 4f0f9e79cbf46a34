"""BlobInboxFiles and BlobReportStore on Azurite."""

from __future__ import annotations

import json
import urllib.request
from datetime import timedelta

import pytest

from shared.adapters.blob_files import BlobInboxFiles, BlobReportStore
from shared.errors import ConcurrentUpdate, NotFound


def put(blob_service, container, name, data):
    blob_service.get_blob_client(container, name).upload_blob(data, overwrite=True)


def test_a_blob_is_read_in_chunks_of_the_version_asked_for(blob_service, container_names):
    inbox_name, _ = container_names
    data = b"x" * (5 * 1024 * 1024) + b"end"
    put(blob_service, inbox_name, "run/train.jsonl", data)
    inbox = BlobInboxFiles(blob_service, inbox_name)

    info = inbox.info("run/train.jsonl")
    chunks = list(inbox.chunks("run/train.jsonl", info.etag))

    assert info.size == len(data)
    assert len(chunks) > 1 and b"".join(chunks) == data
    assert inbox.info("run/absent.jsonl") is None


def test_reading_a_blob_that_changed_since_its_etag_conflicts(blob_service, container_names):
    inbox_name, _ = container_names
    put(blob_service, inbox_name, "run/train.jsonl", b"one")
    inbox = BlobInboxFiles(blob_service, inbox_name)
    etag = inbox.info("run/train.jsonl").etag
    put(blob_service, inbox_name, "run/train.jsonl", b"two")

    with pytest.raises(ConcurrentUpdate, match="changed or was deleted since its ETag"):
        list(inbox.chunks("run/train.jsonl", etag))
    # Storage answers a condition on a missing blob with 412 or 404, depending on the service.
    with pytest.raises((ConcurrentUpdate, NotFound)):
        list(inbox.chunks("run/gone.jsonl", etag))


def test_a_read_url_lets_anyone_with_it_read_the_blob_and_nothing_else(
    blob_service, container_names
):
    inbox_name, _ = container_names
    put(blob_service, inbox_name, "run/train.jsonl", b'{"a": 1}\n')
    url = BlobInboxFiles(blob_service, inbox_name).read_url("run/train.jsonl", timedelta(hours=1))

    assert "sp=r" in url and "sig=" in url
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b'{"a": 1}\n'
    request = urllib.request.Request(url, data=b"x", method="PUT")
    request.add_header("x-ms-blob-type", "BlockBlob")
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(request, timeout=10)


def test_a_report_is_written_as_json_in_its_container_created_on_first_use(
    blob_service, container_names
):
    _, reports_name = container_names
    store = BlobReportStore(blob_service, reports_name)
    store.write("run/train.jsonl.report.json", {"valid": True, "message": "例"})
    store.write("run/train.jsonl.report.json", {"valid": False})

    blob = blob_service.get_blob_client(reports_name, "run/train.jsonl.report.json")
    assert json.loads(blob.download_blob().readall()) == {"valid": False}
    assert blob.get_blob_properties().content_settings.content_type.startswith("application/json")
