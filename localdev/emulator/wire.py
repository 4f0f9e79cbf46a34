"""The emulator's own request/response values, and the error every handler may raise."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Request:
    """One HTTP request as handlers see it; header names are lower-cased."""

    method: str
    path: str
    query: dict[str, str]
    headers: Mapping[str, str]
    body: bytes = b""

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ApiError(400, "invalidPayload", "The request body is not valid JSON.") from exc


@dataclass
class Response:
    """What a handler answers. `drop_after` set: hold that long (or until `released` is set),
    then close without answering."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop_after: float | None = None
    released: threading.Event | None = None


def json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    all_headers = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
    return Response(status, body, all_headers)


class ApiError(Exception):
    """An error answer in the services' shape: `{"error": {"code": ..., "message": ...}}`."""

    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})

    def to_response(self) -> Response:
        payload = {"error": {"code": self.code, "message": self.message}}
        return json_response(self.status, payload, self.headers)


Handler = Callable[[Request, dict[str, str]], Response]


class Router:
    """Maps (method, path pattern) to a handler; `{name}` in a pattern captures one segment."""

    def __init__(self, *, ignore_case: bool = False) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._flags = re.IGNORECASE if ignore_case else 0

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(pattern))
        self._routes.append((method, re.compile(f"^{regex}/?$", self._flags), handler))

    def resolve(self, method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
        for route_method, regex, handler in self._routes:
            match = regex.match(path)
            if match and route_method == method:
                return handler, match.groupdict()
        return None


def page_after(
    items: list[Any], request: Request, *, default_limit: int, id_of: Callable[[Any], str]
) -> tuple[list[Any], bool]:
    """Cursor paging as the service does it: up to `limit` items after the one named `after`."""
    after = request.query.get("after")
    try:
        limit = max(1, int(request.query.get("limit", default_limit)))
    except ValueError as exc:
        raise ApiError(400, "invalidPayload", "The 'limit' parameter must be a number.") from exc
    if after:
        ids = [id_of(item) for item in items]
        items = items[ids.index(after) + 1 :] if after in ids else []
    return items[:limit], len(items) > limit
