"""JSON and problem+json answers shared by the HTTP functions."""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func


def json_answer(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body, ensure_ascii=False),
        status_code=status,
        mimetype="application/json",
        charset="utf-8",
        headers=headers,
    )


def problem_answer(status: int, title: str, detail: str) -> func.HttpResponse:
    """An RFC 9457 problem document, the error shape of every Tunedrop endpoint."""
    return func.HttpResponse(
        json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail},
                   ensure_ascii=False),
        status_code=status,
        mimetype="application/problem+json",
        charset="utf-8",
    )  # fmt: skip
