"""Every error Tunedrop raises on purpose.

    TunedropError                 base: anything a trigger may turn into an answer or a record
    ├── SettingsError             an app setting is missing or malformed (raised at start-up)
    ├── InvalidInput              a file, body, name or setting value a caller sent is wrong (4xx)
    │   ├── PayloadTooLarge       a body or file over its documented size cap (413)
    │   └── InvalidRunConfig      run.json is wrong; `.problems` lists every problem
    ├── NotFound                  no such run, file or deployment (404)
    ├── Conflict                  the thing exists but its state forbids the call (409)
    │   ├── IllegalTransition     a run cannot move from its state to the one asked for
    │   └── ConcurrentUpdate      someone else saved the record first (ETag mismatch)
    └── ServiceError              Azure OpenAI, ARM or storage answered with an error
        ├── TransientServiceError throttling, 5xx, timeouts: try again on a later tick
        │   ├── DeploymentNotReady  the deployment exists but does not serve yet
        │   └── NoRoom            a full quota, a 429 or a 409: on a creating step, wait for room
        └── PermanentServiceError the service refused for good: record the reason, do not retry

Adapters translate SDK errors into these with `raise ... from exc`; triggers catch only
`TunedropError` and let anything else propagate so the host logs and retries it.
"""

from __future__ import annotations


class TunedropError(Exception):
    """Base of every error Tunedrop raises on purpose; its message is meant for a person."""


class SettingsError(TunedropError):
    """One or more app settings are missing or malformed; the message names each of them.
    `settings` holds just their names, for answers that must never quote a value."""

    def __init__(self, message: str, settings: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.settings = settings


class InvalidInput(TunedropError):
    """Something a caller sent is wrong; the message names the field or line."""


class PayloadTooLarge(InvalidInput):
    """A body or file is over its documented size cap."""


class NotFound(TunedropError):
    """The named run, file or deployment does not exist."""


class Conflict(TunedropError):
    """The target exists but its current state does not allow the call."""


class ServiceError(TunedropError):
    """Azure OpenAI, ARM or storage answered with an error."""


class TransientServiceError(ServiceError):
    """Throttling, a server error or a timeout: the same call may succeed later.

    `retry_after` is the delay in seconds the service asked for, when it named one.
    """

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentServiceError(ServiceError):
    """The service refused for good (bad request, not found, quota): retrying will not help."""


class InvalidRunConfig(InvalidInput):
    """run.json is not valid; `problems` holds one sentence per problem, each naming its field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


class IllegalTransition(Conflict):
    """A run was asked to move from its current state to one that state cannot reach."""


class ConcurrentUpdate(Conflict):
    """The record changed since it was read (ETag mismatch): another tick or host saved first."""


class DeploymentNotReady(TransientServiceError):
    """The deployment exists (ARM may even say Succeeded) but chat does not answer on it yet."""


class NoRoom(TransientServiceError):
    """The service refused a call in a way a full quota may answer: an `error.code` of
    `quotaExceeded`, a 429 or a 409 (no public source shows which; see the README's "Sharing a
    resource"). On a step that takes room (upload, job, deployment) the run waits for room
    again instead of counting an error; elsewhere it is an ordinary transient error."""
