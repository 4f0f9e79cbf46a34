"""Faults a test injects: throttling, server errors, timeouts, failed jobs, files in error.

HTTP faults (`throttle`, `server_error`, `conflict` (409), `timeout`, `lost_answer`) answer the
next `times` requests whose method matches (any when None) and whose path contains
`path_contains`. A `timeout` holds the request for `hold_seconds` and then closes the connection
without answering, so a client with a shorter timeout sees its own timeout and a patient one
sees the connection drop. A `lost_answer` carries the request out first (the file, job or
deployment is created) and then does the same: the caller never learns that its call succeeded,
as when a connection breaks on the way back or the caller crashes while waiting.
A test can hold a request for as long as it needs (a long `hold_seconds`) and end every hold at
a moment of its choosing with `release_holds()`, rather than racing a fixed hold against the
machine's speed.
A `quota` fault refuses the request as the account's limits would, in the shape `shape` names
(`400` quotaExceeded, `429` with Retry-After, `429-no-retry-after`, `409`): no public source
shows how the service refuses a request over a count limit, so each plausible shape is tested
(another tool taking the last slot between Tunedrop's count and its call looks the same).
Life-cycle faults (`job_fails`, `file_error`) mark the next `times` jobs or files created by a
request whose path contains `path_contains`: the job ends `failed` with `error.message`, the file
ends `error` with `status_details`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from localdev.emulator.wire import Response, json_response

HTTP_KINDS = ("throttle", "server_error", "conflict", "timeout", "lost_answer", "quota")
LIFECYCLE_KINDS = ("job_fails", "file_error")
QUOTA_SHAPES = ("400", "429", "429-no-retry-after", "409")
DEFAULT_MESSAGES = {
    "job_fails": "The fine-tuning job failed due to an internal error.",
    "file_error": "The file could not be processed because of an internal error.",
}


@dataclass(frozen=True)
class Fault:
    """One fault to inject; see the module docstring for what each kind does."""

    kind: str
    path_contains: str = ""
    method: str | None = None
    times: int = 1
    retry_after: int = 1
    hold_seconds: float = 5.0
    message: str = ""
    code: str = ""
    shape: str = "400"
    """For `quota`: 400, 429, 429-no-retry-after or 409 (see the module docstring)."""

    def __post_init__(self) -> None:
        if self.kind not in HTTP_KINDS + LIFECYCLE_KINDS:
            kinds = ", ".join(HTTP_KINDS + LIFECYCLE_KINDS)
            raise ValueError(f'fault kind "{self.kind}" is unknown; use one of: {kinds}')
        if self.times < 1:
            raise ValueError(f'fault "times" must be at least 1, not {self.times}')
        if self.shape not in QUOTA_SHAPES:
            raise ValueError(f'fault "shape" must be one of {", ".join(QUOTA_SHAPES)}')
        if self.retry_after < 0 or self.hold_seconds < 0:
            raise ValueError('fault "retry_after" and "hold_seconds" must not be negative')

    @classmethod
    def from_json(cls, payload: Any) -> Fault:
        """Builds a fault from the admin endpoint's JSON; unknown keys are refused."""
        if not isinstance(payload, Mapping):
            raise ValueError("a fault must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(payload) - known)
        if unknown:
            raise ValueError(f"fault has unknown keys: {', '.join(unknown)}")
        try:
            return cls(**payload)
        except TypeError as exc:
            raise ValueError(f"fault is malformed: {exc}") from exc

    @property
    def failure_message(self) -> str:
        return self.message or DEFAULT_MESSAGES.get(self.kind, "")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class FaultBook:
    """The faults still armed, each with how many more times it fires. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: list[list[Any]] = []  # [fault, remaining]
        self._release = threading.Event()

    def release_signal(self) -> threading.Event:
        """The event that ends the holds begun now, when `release_holds` is called."""
        with self._lock:
            return self._release

    def release_holds(self) -> None:
        """Ends every hold in progress at once; holds begun later last their `hold_seconds`."""
        with self._lock:
            self._release.set()
            self._release = threading.Event()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._armed.append([fault, fault.times])

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()

    def armed(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{**fault.to_json(), "remaining": left} for fault, left in self._armed]

    def take_http(self, method: str, path: str) -> Fault | None:
        """Consumes and returns the first HTTP fault that matches this request, if any."""
        return self._take(HTTP_KINDS, method, path)

    def take_lifecycle(self, kind: str, path: str) -> Fault | None:
        """Consumes and returns a `job_fails` / `file_error` fault for a creation at `path`."""
        return self._take((kind,), None, path)

    def _take(self, kinds: tuple[str, ...], method: str | None, path: str) -> Fault | None:
        with self._lock:
            for entry in self._armed:
                fault: Fault = entry[0]
                if fault.kind not in kinds or fault.path_contains not in path:
                    continue
                if method and fault.method and fault.method.upper() != method:
                    continue
                entry[1] -= 1
                if entry[1] == 0:
                    self._armed.remove(entry)
                return fault
        return None


def lose_answer(fault: Fault, response: Response) -> Response:
    """The answer of a `lost_answer` fault: the work is done (`response` is its real answer,
    whose status the request log keeps), but the caller is held and then cut off."""
    return Response(response.status, drop_after=fault.hold_seconds)


def fault_response(fault: Fault, *, style: str) -> Response:
    """The answer an HTTP fault gives, in the error shape of the plane that serves it.

    `style` is "authoring" (files, jobs, models: the spec's camelCase codes), "inference"
    (deployments: the numeric codes the live service sends) or "arm".
    """
    if fault.kind == "timeout":
        return Response(0, drop_after=fault.hold_seconds)
    if fault.kind == "throttle":
        code = {"authoring": "tooManyRequests", "inference": "429", "arm": "TooManyRequests"}
        message = fault.message or (
            "Requests have exceeded the call rate limit of your current pricing tier. "
            f"Please retry after {fault.retry_after} seconds."
        )
        headers = {"Retry-After": str(fault.retry_after)}
        return json_response(429, _error(fault.code or code[style], message), headers)
    if fault.kind == "quota":
        status = {"400": 400, "429": 429, "429-no-retry-after": 429, "409": 409}[fault.shape]
        code = "quotaExceeded" if style == "authoring" else "QuotaExceeded"
        message = fault.message or "The limit for this resource has been reached."
        retry = {"Retry-After": str(fault.retry_after)} if fault.shape == "429" else {}
        return json_response(status, _error(fault.code or code, message), retry)
    if fault.kind == "conflict":
        code = {"authoring": "conflict", "inference": "409", "arm": "Conflict"}
        message = fault.message or "Another operation is in progress on this resource."
        return json_response(409, _error(fault.code or code[style], message))
    code = {"authoring": "internalFailure", "inference": "500", "arm": "InternalServerError"}
    message = fault.message or "The server had an error while processing your request."
    return json_response(500, _error(fault.code or code[style], message))


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}
