"""JSON and problem+json answers shared by the HTTP functions."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import azure.functions as func

from shared.api.redact import redact_text
from shared.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    ServiceError,
    SettingsError,
    TransientServiceError,
    TunedropError,
)
from shared.json_bytes import json_utf8


def json_answer(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> func.HttpResponse:
    return func.HttpResponse(
        json_utf8(body),
        status_code=status,
        mimetype="application/json",
        charset="utf-8",
        headers=headers,
    )


def problem_answer(status: int, title: str, detail: str) -> func.HttpResponse:
    """An RFC 9457 problem document, the error shape of every Tunedrop endpoint."""
    return func.HttpResponse(
        json_utf8({"type": "about:blank", "title": title, "status": status, "detail": detail}),
        status_code=status,
        mimetype="application/problem+json",
        charset="utf-8",
    )  # fmt: skip


# Most specific first: the first class an error is an instance of decides its answer.
ERROR_STATUSES: tuple[tuple[type[TunedropError], int, str], ...] = (
    (PayloadTooLarge, 413, "Payload too large"),
    (InvalidInput, 400, "Invalid request"),
    (NotFound, 404, "Not found"),
    (Conflict, 409, "Conflict"),
    (SettingsError, 503, "Service misconfigured"),
    (TransientServiceError, 503, "Service busy"),
    (ServiceError, 502, "Upstream service error"),
    (TunedropError, 500, "Error"),
)


def error_answer(error: TunedropError) -> func.HttpResponse:
    """The problem answer for a Tunedrop error; its message is written for the caller, with any
    secret an upstream message quoted (a SAS URL, a key) masked."""
    for kind, status, title in ERROR_STATUSES:
        if isinstance(error, kind):
            answer = problem_answer(status, title, redact_text(str(error)))
            if isinstance(error, TransientServiceError) and error.retry_after:
                answer.headers["Retry-After"] = str(round(error.retry_after))
            return answer
    raise AssertionError("unreachable: TunedropError is the last entry")


Handler = Callable[[func.HttpRequest], func.HttpResponse]


def answers_problems(handler: Handler) -> Handler:
    """Turns a Tunedrop error raised by `handler` into its problem answer; anything else
    propagates so the host logs it and answers 500 without details."""

    @functools.wraps(handler)
    def answer(req: func.HttpRequest) -> func.HttpResponse:
        try:
            return handler(req)
        except TunedropError as error:
            return error_answer(error)

    return answer
