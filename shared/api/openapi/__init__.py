"""The OpenAPI 3.1 document of the whole HTTP API, served at `GET /api/openapi.json`.

paths.py     every route and its operations (add a route here)
schemas.py   the bodies and answers
webhooks     the events Tunedrop sends, one per type of `shared.notifications.events`
"""

from __future__ import annotations

from typing import Any

from shared.api.openapi.paths import PATHS, PROBLEMS
from shared.api.openapi.schemas import SCHEMAS, ref
from shared.notifications.events import EVENT_TYPES
from shared.version import VERSION

API_PREFIX = "/api"
SIGNATURE_HEADERS = {
    "webhook-id": "The event id; the same on every delivery of the event (dedupe on it)",
    "webhook-timestamp": "Seconds since the epoch when this delivery was signed",
    "webhook-signature": "Space-separated `v1,<base64 HMAC-SHA256 of id.timestamp.body>`, one "
    "per secret during a rotation (Standard Webhooks)",
}


def openapi_document(server_url: str = API_PREFIX) -> dict[str, Any]:
    """The whole document; `server_url` is where the API is (its /api prefix included)."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Tunedrop",
            "version": VERSION,
            "description": "Drop JSONL training data, get a deployed fine-tuned Azure OpenAI "
            "model. Every endpoint but health and this document needs the function key.",
        },
        "servers": [{"url": server_url}],
        "security": [{"functionKey": []}, {"functionKeyQuery": []}],
        "paths": {f"/{route}": operations for route, operations in PATHS.items()},
        "webhooks": {
            event_type: _webhook(event_type, meaning) for event_type, meaning in EVENT_TYPES.items()
        },
        "components": {
            "schemas": SCHEMAS,
            "responses": _responses(),
            "securitySchemes": {
                "functionKey": {"type": "apiKey", "in": "header", "name": "x-functions-key"},
                "functionKeyQuery": {"type": "apiKey", "in": "query", "name": "code"},
            },
        },
    }


def _responses() -> dict[str, Any]:
    problem = {"application/problem+json": {"schema": ref("Problem")}}
    responses: dict[str, Any] = {
        f"Problem{status}": {"description": text, "content": problem}
        for status, text in PROBLEMS.items()
    }
    responses["Problem503"]["headers"] = {
        "Retry-After": {
            "description": "Seconds to wait, when the busy service named a delay",
            "schema": {"type": "string"},
        }
    }
    responses["Unauthorized"] = {"description": "No function key, or a wrong one (no body)"}
    return responses


def _webhook(event_type: str, meaning: str) -> dict[str, Any]:
    return {
        "post": {
            "operationId": event_type,
            "summary": meaning,
            "description": "Delivered at least once to each webhook that wants this type, "
            "signed per Standard Webhooks; answer 2xx within the timeout. 410 disables the "
            "endpoint; anything else is retried with backoff, honouring Retry-After.",
            "parameters": [
                {
                    "name": name,
                    "in": "header",
                    "required": True,
                    "description": text,
                    "schema": {"type": "string"},
                }
                for name, text in SIGNATURE_HEADERS.items()
            ],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": ref("Event")}},
            },
            "responses": {
                "2XX": {"description": "Received"},
                "410": {"description": "Gone: Tunedrop stops sending to this endpoint"},
            },
        }
    }
