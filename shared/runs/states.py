"""The states of a run and the moves between them.

    waiting_for_files ─▶ uploading ─▶ processing_files ─▶ queued ─▶ running ─▶ succeeded
                                                                                   │
                        expired ◀─ deployed ◀─ deploying ◀─────────────────────────┘
                         │   ▲                     ▲  │
                         │   └─────────────────────┼──┘ (a deployment that failed or vanished)
                         └─────────────────────────┘ (deploy again on request)

`failed` is reachable from every state before `succeeded`; `cancelled` from every state before
`succeeded`. `failed` and `cancelled` are terminal. A trained model is never lost: once a run
has its model, nothing fails it. A deployment that fails for any reason (a full quota, no
capacity, a SKU the region lacks), and one that vanished (deleted outside Tunedrop, or by the
service after 15 days without use), leave the run `expired`, from which
`POST /runs/{run}/deploy` deploys it again, with another SKU or capacity if asked. Runs wait
for room on a shared account inside their state (`Run.capacity_wait`), not in a state of
their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from shared.errors import IllegalTransition

__all__ = ["TRANSITIONS", "IllegalTransition", "RunState", "check_transition"]


class RunState(StrEnum):
    WAITING_FOR_FILES = "waiting_for_files"
    UPLOADING = "uploading"
    PROCESSING_FILES = "processing_files"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    DEPLOYING = "deploying"
    DEPLOYED = "deployed"
    EXPIRED = "expired"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        """No move leaves this state."""
        return not TRANSITIONS[self]

    @property
    def training_started(self) -> bool:
        """Files have been (or are being) sent to Azure: a changed file is ignored from here on."""
        return self is not RunState.WAITING_FOR_FILES


S = RunState
_BEFORE_SUCCESS = (S.FAILED, S.CANCELLED)
TRANSITIONS: Mapping[RunState, frozenset[RunState]] = MappingProxyType(
    {
        S.WAITING_FOR_FILES: frozenset({S.UPLOADING, *_BEFORE_SUCCESS}),
        S.UPLOADING: frozenset({S.PROCESSING_FILES, *_BEFORE_SUCCESS}),
        S.PROCESSING_FILES: frozenset({S.QUEUED, *_BEFORE_SUCCESS}),
        S.QUEUED: frozenset({S.RUNNING, S.SUCCEEDED, *_BEFORE_SUCCESS}),
        S.RUNNING: frozenset({S.SUCCEEDED, *_BEFORE_SUCCESS}),
        S.SUCCEEDED: frozenset({S.DEPLOYING}),
        S.DEPLOYING: frozenset({S.DEPLOYED, S.EXPIRED}),
        S.DEPLOYED: frozenset({S.EXPIRED}),
        S.EXPIRED: frozenset({S.DEPLOYING}),
        S.FAILED: frozenset(),
        S.CANCELLED: frozenset(),
    }
)

# Why a state refuses a move, in words for the person who asked for it.
_REFUSALS: Mapping[RunState, str] = MappingProxyType(
    {
        S.WAITING_FOR_FILES: "it is still waiting for its files to pass validation",
        S.UPLOADING: "its files are being uploaded to Azure OpenAI",
        S.PROCESSING_FILES: "Azure OpenAI is still processing its files",
        S.QUEUED: "its fine-tuning job is queued and has not finished",
        S.RUNNING: "its fine-tuning job is running and has not finished",
        S.SUCCEEDED: "training has finished; it can only be deployed now",
        S.DEPLOYING: "its deployment is being created",
        S.DEPLOYED: "its model is deployed; it can only be torn down now",
        S.EXPIRED: "its model is not deployed (the deployment was deleted, failed or vanished); "
        "it can only be deployed again",
        S.FAILED: "it has failed; a failed run never moves again (drop the files in a new folder)",
        S.CANCELLED: "it was cancelled; a cancelled run never moves again",
    }
)


def check_transition(run: str, current: RunState, target: RunState) -> None:
    """Raises `IllegalTransition` when `current` cannot move to `target`, saying why."""
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(
            f"run {run!r} cannot become {target.value} from {current.value}: {_REFUSALS[current]}."
        )
