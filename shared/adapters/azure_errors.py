"""Translating azure-core errors (storage, tables, ARM) into Tunedrop's errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from shared.errors import (
    ConcurrentUpdate,
    NotFound,
    PermanentServiceError,
    TransientServiceError,
    TunedropError,
)

TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})


def translate(exc: AzureError, what: str) -> TunedropError:
    """The Tunedrop error for an azure-core error raised while doing `what`."""
    status = getattr(exc, "status_code", None)
    detail = _first_line(exc)
    if isinstance(exc, ResourceModifiedError) or status == 412:
        return ConcurrentUpdate(f"{what}: the record changed since it was read ({detail})")
    if isinstance(exc, ResourceExistsError) or status == 409:
        return ConcurrentUpdate(f"{what}: it already exists ({detail})")
    if isinstance(exc, ResourceNotFoundError) or status == 404:
        return NotFound(f"{what}: not found ({detail})")
    if isinstance(exc, ServiceRequestError | ServiceResponseError) or status in TRANSIENT_STATUS:
        return TransientServiceError(f"{what}: {detail}", retry_after=_retry_after(exc))
    if isinstance(exc, HttpResponseError):
        return PermanentServiceError(f"{what}: {detail}")
    return TransientServiceError(f"{what}: {detail}")


@contextmanager
def azure_errors(what: str) -> Iterator[None]:
    """Runs the block, turning azure-core errors into Tunedrop errors (`raise ... from`)."""
    try:
        yield
    except AzureError as exc:
        raise translate(exc, what) from exc


def _retry_after(exc: AzureError) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _first_line(exc: AzureError) -> str:
    text = str(getattr(exc, "message", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
