"""`BlobInboxWriter` and `BlobImprovementFiles`: the improvement's real adapters."""

from __future__ import annotations

from azure.core.exceptions import AzureError, ResourceExistsError
from azure.storage.blob import BlobServiceClient

from shared.adapters.azure_errors import azure_errors, translate
from shared.errors import NotFound
from shared.evaluation.adapters import BlobEvaluationReports


class BlobInboxWriter:
    """`InboxWriter` on the inbox container: creates blobs only where none is (If-None-Match),
    so an uploaded blob is never changed, even by a retried or duplicated request."""

    def __init__(self, service: BlobServiceClient, container: str) -> None:
        self._service = service
        self._container = container

    def has_folder(self, run: str) -> bool:
        container = self._service.get_container_client(self._container)
        with azure_errors(f"listing inbox folder {run!r}"):
            return any(True for _ in container.list_blobs(name_starts_with=f"{run}/"))

    def create(self, path: str, content: bytes) -> bool:
        container = self._service.get_container_client(self._container)
        try:
            container.upload_blob(path, content, overwrite=False)
        except ResourceExistsError:
            return False
        except AzureError as exc:
            raise translate(exc, f"writing inbox blob {path!r}") from exc
        return True


class BlobImprovementFiles(BlobEvaluationReports):
    """`ImprovementFiles` on the reports container."""

    def read_text(self, path: str) -> str | None:
        blob = self._service.get_blob_client(self._container, path)
        try:
            with azure_errors(f"reading report {path!r}"):
                return blob.download_blob().readall().decode("utf-8")
        except NotFound:
            return None
