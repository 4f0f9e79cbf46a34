"""Translating `openai` client errors into Tunedrop's errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import openai

from shared.errors import (
    DeploymentNotReady,
    NoRoom,
    NotFound,
    PermanentServiceError,
    TransientServiceError,
    TunedropError,
)

TRANSIENT_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
NOT_READY_CODES = frozenset({"DeploymentNotReady", "DeploymentNotFound"})
QUOTA_CODES = frozenset({"quotaexceeded"})
NO_ROOM_STATUS = frozenset({409, 429})


def translate(exc: openai.OpenAIError, what: str) -> TunedropError:
    """The Tunedrop error for an `openai` error raised while doing `what`."""
    if isinstance(exc, openai.APITimeoutError | openai.APIConnectionError):
        return TransientServiceError(f"{what}: {type(exc).__name__}: {exc}")
    if isinstance(exc, openai.APIStatusError):
        code, message = _code_and_message(exc)
        text = f"{what}: {exc.status_code} {code or ''} {message}".replace("  ", " ")
        if code in NOT_READY_CODES:
            return DeploymentNotReady(text, retry_after=_retry_after(exc))
        if exc.status_code in NO_ROOM_STATUS or str(code or "").lower() in QUOTA_CODES:
            return NoRoom(text, retry_after=_retry_after(exc))
        if exc.status_code in TRANSIENT_STATUS:
            return TransientServiceError(text, retry_after=_retry_after(exc))
        if exc.status_code == 404:
            return NotFound(text)
        return PermanentServiceError(text)
    return PermanentServiceError(f"{what}: {exc}")


@contextmanager
def openai_errors(what: str) -> Iterator[None]:
    try:
        yield
    except openai.OpenAIError as exc:
        raise translate(exc, what) from exc


def _code_and_message(exc: openai.APIStatusError) -> tuple[str | None, str]:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            return error.get("code"), str(error.get("message") or exc.message)
    return None, exc.message


def _retry_after(exc: openai.APIStatusError) -> float | None:
    headers = exc.response.headers
    milliseconds = headers.get("retry-after-ms")
    seconds = headers.get("retry-after")
    try:
        if milliseconds is not None:
            return float(milliseconds) / 1000
        return float(seconds) if seconds is not None else None
    except ValueError:
        return None
