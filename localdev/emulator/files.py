"""Files: upload, import from a blob URL, get, list, content, delete."""

from __future__ import annotations

import email.parser
import email.policy
import math
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import partial
from typing import Any

from localdev.emulator import limits
from localdev.emulator.datasets import Dataset, DatasetError, parse_chat_jsonl
from localdev.emulator.store import State, new_id
from localdev.emulator.wire import ApiError, Request, Response, Router, json_response, page_after

PURPOSES = ("fine-tune", "fine-tune-results", "assistants", "batch")
MAX_FILE_BYTES = 512 * 1024 * 1024
IMPORT_TIMEOUT_SECONDS = 30


@dataclass
class StoredFile:
    """A file as stored; `status` is derived from the time `ready_at` (see `State`)."""

    id: str
    filename: str
    purpose: str
    content: bytes
    created_at: float
    ready_at: float
    visible_at: float
    dataset: Dataset | None = None
    error: str | None = None

    def status(self, now: float) -> str:
        if now < self.ready_at:
            return "pending"
        return "error" if self.error else "processed"

    def to_json(self, now: float) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "object": "file",
            "id": self.id,
            "purpose": self.purpose,
            "filename": self.filename,
            "bytes": len(self.content),
            "created_at": int(self.created_at),
            "status": self.status(now),
        }
        if payload["status"] == "error":
            payload["status_details"] = self.error
        return payload


def register(router: Router, state: State) -> None:
    router.add("POST", "/openai/files", partial(upload, state))
    router.add("POST", "/openai/files/import", partial(import_from_url, state))
    router.add("GET", "/openai/files", partial(list_files, state))
    router.add("GET", "/openai/files/{file_id}", partial(get_file, state))
    router.add("DELETE", "/openai/files/{file_id}", partial(delete_file, state))
    router.add("GET", "/openai/files/{file_id}/content", partial(file_content, state))


def visible_file(state: State, file_id: str) -> StoredFile:
    """The file if it exists now (results files appear when their job ends); else 404."""
    stored = state.files.get(file_id)
    if stored is None or state.now() < stored.visible_at:
        raise ApiError(404, "notFound", f"The file '{file_id}' could not be found.")
    return stored


def store_file(
    state: State,
    *,
    filename: str,
    purpose: str,
    content: bytes,
    path: str | None,
    error: str | None = None,
    visible_at: float | None = None,
) -> StoredFile:
    """Stores a new file and checks it as the service would.

    `path` is the request that created it, matched against `file_error` faults; None for files
    the service makes itself (results). `visible_at` hides the file until then (default: now).
    """
    now = state.now()
    stored = StoredFile(
        id=new_id("file"),
        filename=filename,
        purpose=purpose,
        content=content,
        created_at=now,
        ready_at=now,
        visible_at=now if visible_at is None else visible_at,
        error=error,
    )
    if purpose == "fine-tune" and error is None and len(content) > MAX_FILE_BYTES:
        stored.error = f"The file is larger than the {MAX_FILE_BYTES // 2**20} MB limit."
    elif purpose == "fine-tune" and error is None:
        try:
            stored.dataset = parse_chat_jsonl(content)
        except DatasetError as exc:
            stored.error = f"Validation of the file failed: {exc}"
    fault = None if path is None else state.faults.take_lifecycle("file_error", path)
    if fault is not None:
        stored.error = fault.failure_message
    # Processing time counts from the end of the check, which can itself take a while; files
    # the service makes itself are processed as they appear.
    if path is not None:
        stored.ready_at = state.now() + state.timings.file_processing
    with state.lock:
        if path is not None:  # the service's own files (results) are never refused
            limits.check_file_room(state, len(content))
        state.files[stored.id] = stored
    limits.usage(state)
    return stored


def upload(state: State, request: Request, params: dict[str, str]) -> Response:
    fields = _multipart_fields(request)
    purpose = fields.get("purpose", (None, b""))[1].decode("utf-8", "replace")
    if purpose not in PURPOSES:
        raise ApiError(400, "invalidPayload", f"The purpose '{purpose}' is not supported.")
    if "file" not in fields:
        raise ApiError(400, "invalidPayload", "The request has no 'file' part.")
    filename, content = fields["file"]
    stored = store_file(
        state, filename=filename or "upload.jsonl", purpose=purpose, content=content,
        path=request.path,
    )  # fmt: skip
    return _created(request, stored, state)


def import_from_url(state: State, request: Request, params: dict[str, str]) -> Response:
    body = request.json()
    if not isinstance(body, dict):
        raise ApiError(400, "invalidPayload", "The request body must be a JSON object.")
    missing = [k for k in ("purpose", "filename", "content_url") if not body.get(k)]
    if missing:
        raise ApiError(400, "invalidPayload", f"The request is missing: {', '.join(missing)}.")
    if body["purpose"] not in PURPOSES:
        raise ApiError(400, "invalidPayload", f"The purpose '{body['purpose']}' is not supported.")
    content, error = _download(str(body["content_url"]))
    stored = store_file(
        state, filename=str(body["filename"]), purpose=body["purpose"], content=content,
        path=request.path, error=error,
    )  # fmt: skip
    return _created(request, stored, state)


def list_files(state: State, request: Request, params: dict[str, str]) -> Response:
    now = state.now()
    purpose = request.query.get("purpose")
    with state.lock:
        files = [f for f in state.files.values() if now >= f.visible_at]
    files = [f for f in files if purpose in (None, f.purpose)]
    files.sort(key=lambda f: f.created_at, reverse=True)
    page, has_more = page_after(files, request, default_limit=10000, id_of=lambda f: f.id)
    data = [f.to_json(now) for f in page]
    return json_response(200, {"object": "list", "data": data, "has_more": has_more})


def get_file(state: State, request: Request, params: dict[str, str]) -> Response:
    return json_response(200, visible_file(state, params["file_id"]).to_json(state.now()))


def delete_file(state: State, request: Request, params: dict[str, str]) -> Response:
    stored = visible_file(state, params["file_id"])
    with state.lock:
        state.files.pop(stored.id, None)
    return json_response(200, {"object": "file", "id": stored.id, "deleted": True})


def file_content(state: State, request: Request, params: dict[str, str]) -> Response:
    stored = visible_file(state, params["file_id"])
    return Response(200, stored.content, {"Content-Type": "application/octet-stream"})


def _created(request: Request, stored: StoredFile, state: State) -> Response:
    location = f"http://{request.header('host')}/openai/files/{stored.id}"
    return json_response(201, stored.to_json(state.now()), {"Location": location})


def _multipart_fields(request: Request) -> dict[str, tuple[str | None, bytes]]:
    content_type = request.header("content-type")
    if not content_type.startswith("multipart/form-data"):
        raise ApiError(400, "invalidPayload", "The request must be multipart/form-data.")
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.body)
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            fields[str(name)] = (part.get_filename(), part.get_payload(decode=True) or b"")
    return fields


def _download(url: str) -> tuple[bytes, str | None]:
    """The blob's bytes, or the reason the import failed (the file then ends in `error`)."""
    chunks, size = [], 0
    try:
        with urllib.request.urlopen(url, timeout=IMPORT_TIMEOUT_SECONDS) as answer:
            while chunk := answer.read(1024 * 1024):
                size += len(chunk)
                if size > MAX_FILE_BYTES:
                    limit_mb = math.floor(MAX_FILE_BYTES / 2**20)
                    return b"", f"File import failed: the blob is larger than {limit_mb} MB."
                chunks.append(chunk)
    except urllib.error.HTTPError as exc:
        return b"", f"File import failed: the blob answered HTTP {exc.code} {exc.reason}."
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return b"", f"File import failed: the blob could not be read ({exc})."
    return b"".join(chunks), None
