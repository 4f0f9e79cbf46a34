"""Files through the real `openai` client: upload, check, list, content, delete, import."""

from __future__ import annotations

import datetime

import openai
import pytest
from azure.storage.blob import BlobSasPermissions, BlobServiceClient, generate_blob_sas

from localdev.azurite import AzuritePorts
from localdev.emulator import Emulator
from tests.emulator.helpers import (
    BASE_MODEL,
    TRAINING_PAIRS,
    chat_jsonl,
    finished_job,
    raw,
    upload_processed,
    wait_until,
)


def _final(client: openai.AzureOpenAI, file_id: str) -> openai.types.FileObject:
    return wait_until(lambda: client.files.retrieve(file_id), lambda f: f.status != "pending")


def test_an_uploaded_training_file_is_pending_then_processed(client: openai.AzureOpenAI) -> None:
    content = chat_jsonl(TRAINING_PAIRS)
    uploaded = client.files.create(file=("train.jsonl", content), purpose="fine-tune")
    assert (uploaded.status, uploaded.filename, uploaded.bytes) == (
        "pending",
        "train.jsonl",
        len(content),
    )
    assert uploaded.id.startswith("file-")
    assert _final(client, uploaded.id).status == "processed"


def test_a_validation_file_of_nine_examples_is_processed_and_used_but_a_training_file_is_not(
    client: openai.AzureOpenAI,
) -> None:
    # The run Tunedrop comes from: Azure accepted 24 training and 9 validation examples. The
    # minimum of 10 applies to a job's training file, when the job is created.
    nine = upload_processed(client, chat_jsonl(TRAINING_PAIRS[:9]), "nine.jsonl")
    assert client.files.retrieve(nine).status == "processed"
    enough = upload_processed(client, chat_jsonl(TRAINING_PAIRS), "train.jsonl")
    trained = client.fine_tuning.jobs.create(
        model=BASE_MODEL, training_file=enough, validation_file=nine
    )
    assert finished_job(client, trained.id).status == "succeeded"

    refused = client.fine_tuning.jobs.create(model=BASE_MODEL, training_file=nine)
    failed = finished_job(client, refused.id)
    assert failed.status == "failed"
    assert (failed.error.code, failed.error.message) == (
        "invalid_n_examples",
        "Training file has 9 example(s), but must have at least 10 examples",
    )


def test_a_line_that_is_not_a_chat_example_ends_the_file_in_error_naming_the_line(
    client: openai.AzureOpenAI,
) -> None:
    lines = chat_jsonl(TRAINING_PAIRS).splitlines()
    lines[2] = b'{"prompt": "old style", "completion": "no"}'
    uploaded = client.files.create(file=("bad.jsonl", b"\n".join(lines)), purpose="fine-tune")
    final = _final(client, uploaded.id)
    assert final.status == "error"
    assert 'line 3: "messages" must be a non-empty list' in final.status_details


def test_files_can_be_listed_by_purpose_read_back_and_deleted(client: openai.AzureOpenAI) -> None:
    content = chat_jsonl(TRAINING_PAIRS)
    file_id = upload_processed(client, content)
    listed = [f.id for f in client.files.list(purpose="fine-tune")]
    assert file_id in listed
    assert file_id not in [f.id for f in client.files.list(purpose="batch")]
    assert client.files.content(file_id).content == content
    deleted = client.files.delete(file_id)
    assert (deleted.id, deleted.deleted) == (file_id, True)
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(file_id)


def _blob_url(azurite: AzuritePorts, name: str, content: bytes | None) -> str:
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    container = service.get_container_client("emulator-import")
    if not container.exists():
        container.create_container()
    blob = container.get_blob_client(name)
    if content is not None:
        blob.upload_blob(content, overwrite=True)
    sas = generate_blob_sas(
        account_name=blob.account_name,
        container_name="emulator-import",
        blob_name=name,
        account_key=service.credential.account_key,
        permission=BlobSasPermissions(read=True),
        expiry=datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1),
    )
    return f"{blob.url}?{sas}"


def test_a_file_is_imported_from_a_blob_sas_url(
    client: openai.AzureOpenAI, azurite: AzuritePorts
) -> None:
    content = chat_jsonl(TRAINING_PAIRS)
    url = _blob_url(azurite, "train.jsonl", content)
    imported = client.post(
        "/files/import",
        body={"purpose": "fine-tune", "filename": "train.jsonl", "content_url": url},
        cast_to=openai.types.FileObject,
    )
    assert imported.status == "pending"
    assert _final(client, imported.id).status == "processed"
    assert client.files.content(imported.id).content == content


def test_importing_a_blob_that_does_not_exist_ends_the_file_in_error(
    client: openai.AzureOpenAI, azurite: AzuritePorts
) -> None:
    url = _blob_url(azurite, "missing.jsonl", None)
    imported = client.post(
        "/files/import",
        body={"purpose": "fine-tune", "filename": "missing.jsonl", "content_url": url},
        cast_to=openai.types.FileObject,
    )
    final = _final(client, imported.id)
    assert final.status == "error"
    assert "HTTP 404" in final.status_details


def test_a_wrong_api_key_is_refused_with_401(emulator: Emulator) -> None:
    bad = openai.AzureOpenAI(
        azure_endpoint=emulator.url, api_key="wrong", api_version="2024-10-21", max_retries=0
    )
    with pytest.raises(openai.AuthenticationError) as refused:
        bad.files.list()
    assert refused.value.body["code"] == "401"


def test_a_bearer_token_is_accepted_instead_of_a_key(emulator: Emulator) -> None:
    with_token = openai.AzureOpenAI(
        azure_endpoint=emulator.url,
        azure_ad_token_provider=lambda: "any-token",
        api_version="2024-10-21",
        max_retries=0,
    )
    assert with_token.models.list().data


@pytest.mark.parametrize("query", ["", "api-version=2099-01-01"])
def test_a_missing_or_unknown_api_version_is_not_found(emulator: Emulator, query: str) -> None:
    status, _, body = raw(emulator, "GET", "/openai/files", query=query)
    assert (status, body) == (404, {"error": {"code": "404", "message": "Resource not found"}})
