"""A stand-in for an Event Grid custom topic (no official emulator exists), on the data-plane
port, so the app's `azure-eventgrid` publishing is tested through the real SDK.

    POST /api/events?api-version=2018-01-01   a CloudEvents 1.0 batch, `aeg-sas-key: <key>` -> 200
    GET  /_emulator/eventgrid/events          what was published, oldest first
    DELETE /_emulator/eventgrid/events        forget it -> 204

As the service does, it refuses a missing or wrong key (401), a body that is not a JSON list of
CloudEvents 1.0 (400: each needs id, source, type and specversion "1.0"), and another content
type than `application/cloudevents-batch+json` (400). The key is the emulator's API key. (The
SDK refuses to send a bearer token over plain HTTP; Tunedrop uses its managed identity in Azure
and a key only here.)
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from localdev.emulator.store import State
from localdev.emulator.wire import Request, Response, json_response

PATH = "/api/events"
ADMIN_PATH = "/_emulator/eventgrid/events"
API_VERSIONS = frozenset({"2018-01-01"})
REQUIRED = ("id", "source", "type", "specversion")


class Topic:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events: list[dict[str, Any]] = []


_topics: weakref.WeakKeyDictionary[State, Topic] = weakref.WeakKeyDictionary()


def topic_of(state: State) -> Topic:
    with state.lock:
        return _topics.setdefault(state, Topic())


def handles(request: Request) -> bool:
    return request.path in (PATH, ADMIN_PATH)


def handle(state: State, request: Request) -> Response:
    topic = topic_of(state)
    if request.path == ADMIN_PATH:
        if request.method == "DELETE":
            with topic.lock:
                topic.events.clear()
            return Response(204)
        with topic.lock:
            return json_response(200, {"data": list(topic.events)})
    if request.method != "POST":
        return _error(405, "MethodNotAllowed", f"{request.method} is not allowed on {PATH}.")
    if request.header("aeg-sas-key") != state.api_key:
        return _error(401, "Unauthorized", "The request authorization key is not authorized.")
    if request.query.get("api-version") not in API_VERSIONS:
        return _error(400, "BadRequest", "The api-version is missing or not supported.")
    if not request.header("content-type").startswith("application/cloudevents-batch+json"):
        return _error(400, "BadRequest", "Send a CloudEvents batch (cloudevents-batch+json).")
    try:
        events = request.json()
    except Exception:
        return _error(400, "BadRequest", "The request body is not JSON.")
    if not isinstance(events, list) or not events:
        return _error(400, "BadRequest", "The body must be a non-empty JSON array of events.")
    for index, event in enumerate(events):
        missing = [key for key in REQUIRED if not isinstance(event, dict) or key not in event]
        if missing or event.get("specversion") != "1.0":
            detail = f"event {index} is not a CloudEvent 1.0 (missing {', '.join(missing)})"
            return _error(400, "BadRequest", detail)
    with topic.lock:
        topic.events.extend(events)
    return Response(200)


def _error(status: int, code: str, message: str) -> Response:
    return json_response(status, {"error": {"code": code, "message": message}})
