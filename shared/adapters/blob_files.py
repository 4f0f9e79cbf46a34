"""`BlobInboxFiles` and `BlobReportStore`: the inbox and reports containers in Blob Storage."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import (
    BlobSasPermissions,
    BlobServiceClient,
    ContentSettings,
    generate_blob_sas,
)

from shared.adapters.azure_errors import azure_errors, translate
from shared.errors import ConcurrentUpdate, PermanentServiceError
from shared.json_bytes import json_utf8
from shared.pipeline.protocols import BlobInfo

logger = logging.getLogger(__name__)

CLOCK_SKEW = timedelta(minutes=5)


class BlobInboxFiles:
    """`InboxFiles` on a blob container. Only reads: never writes or deletes an inbox blob."""

    def __init__(self, service: BlobServiceClient, container: str) -> None:
        self._service = service
        self._container = container

    def info(self, blob_name: str) -> BlobInfo | None:
        blob = self._service.get_blob_client(self._container, blob_name)
        try:
            properties = blob.get_blob_properties()
        except ResourceNotFoundError:
            return None
        except AzureError as exc:
            raise translate(exc, f"reading blob {blob_name!r}") from exc
        return BlobInfo(blob_name, properties.etag, properties.size)

    def chunks(self, blob_name: str, etag: str) -> Iterator[bytes]:
        what = f"reading blob {blob_name!r}"
        blob = self._service.get_blob_client(self._container, blob_name)
        try:
            download = blob.download_blob(etag=etag, match_condition=MatchConditions.IfNotModified)
            yield from download.chunks()
        except AzureError as exc:
            status = getattr(exc, "status_code", None)
            if status == 412:
                raise ConcurrentUpdate(
                    f"{what}: the blob changed or was deleted since its ETag was read"
                ) from exc
            if status == 409:
                # Not a write conflict: storage refuses to serve this blob's content (it is in
                # the Archive tier, or encrypted with a key the app does not hold) and will go
                # on refusing, so retrying the same read is pointless.
                code = getattr(exc, "error_code", None) or "409 Conflict"
                raise PermanentServiceError(
                    f"{what}: storage refuses to read its content ({code}); a blob in the "
                    "Archive tier must be rehydrated first"
                ) from exc
            raise translate(exc, what) from exc

    def read_url(self, blob_name: str, valid_for: timedelta) -> str:
        """A read-only SAS URL: signed with the account key when connected by connection string,
        with a user delegation key (Entra ID) otherwise."""
        now = datetime.now(UTC)
        start, expiry = now - CLOCK_SKEW, now + valid_for
        blob = self._service.get_blob_client(self._container, blob_name)
        credential = self._service.credential
        account_key = getattr(credential, "account_key", None)
        with azure_errors(f"signing a read URL for blob {blob_name!r}"):
            # Signed with the account key when connected by connection string; with managed
            # identity there is no key, so a user delegation key signs it instead.
            signing = (
                {"account_key": account_key}
                if account_key
                else {"user_delegation_key": self._service.get_user_delegation_key(start, expiry)}
            )
            sas = generate_blob_sas(
                self._service.account_name or "",
                self._container,
                blob_name,
                permission=BlobSasPermissions(read=True),
                start=start,
                expiry=expiry,
                **signing,
            )
        return f"{blob.url}?{sas}"


class BlobReportStore:
    """`ReportStore` on a blob container, created on first write if missing."""

    def __init__(self, service: BlobServiceClient, container: str) -> None:
        self._service = service
        self._container = container
        self._ready = False

    def write(self, path: str, report: Mapping[str, Any]) -> None:
        self._write(path, json_utf8(report, indent=2), "application/json; charset=utf-8")

    def _write(self, path: str, data: bytes, content_type: str) -> None:
        settings = ContentSettings(content_type=content_type)
        container = self._service.get_container_client(self._container)
        with azure_errors(f"writing report {path!r}"):
            if not self._ready:
                with contextlib.suppress(ResourceExistsError):
                    container.create_container()
                self._ready = True
            container.upload_blob(path, data, overwrite=True, content_settings=settings)
