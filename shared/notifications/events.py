"""The events Tunedrop publishes, in one place, and the payload of each.

Every event type is `tunedrop.run.<name>`: one per run state (the run moved to that state), plus
the few other happenings listed in `OTHER_EVENTS`. The payload is small and stable:

    {"id": "evt_...", "type": "tunedrop.run.deployed", "time": "2026-12-01T17:30:00+00:00",
     "data": {"run": "kitsune", "state": "deployed", "previous_state": "deploying",
              "sequence": 9, "reason": "...",
              "deployment": {"name": "...", "model": "...", "expires_at": "..."}}}

`sequence` counts a run's events from 1, so a receiver can order them and drop stale ones; `id`
is unique per event and the same on every delivery of it (dedupe on it). No I/O here.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from shared.redact import redact
from shared.runs.record import RaisedEvent, Run
from shared.runs.states import RunState

PREFIX = "tunedrop.run."

# What each state's event means to a receiver (used in the OpenAPI webhooks and the docs).
STATE_EVENTS: Mapping[str, str] = MappingProxyType(
    {
        RunState.WAITING_FOR_FILES: "a new run: its first file arrived",
        RunState.UPLOADING: "the files passed validation; uploading to Azure OpenAI",
        RunState.PROCESSING_FILES: "Azure OpenAI is processing the uploaded files",
        RunState.QUEUED: "the fine-tuning job was created and is queued",
        RunState.RUNNING: "the fine-tuning job is running",
        RunState.SUCCEEDED: "training finished; `fine_tuned_model` is set",
        RunState.DEPLOYING: "the deployment is being created",
        RunState.DEPLOYED: "the model answers chat; `deployment` says where and until when",
        RunState.EXPIRED: "the model is not deployed: its deployment was deleted, failed or "
        "vanished (`reason` says which); POST /runs/{run}/deploy deploys it again",
        RunState.FAILED: "the run failed; `reason` says why",
        RunState.CANCELLED: "the run was cancelled",
    }
)
# Events that are not a move between states. Add the name, what it means, and its extra fields
# in `_extra` below (or pass them as the raised event's `data`).
OTHER_EVENTS: Mapping[str, str] = MappingProxyType(
    {
        # Raised by `shared.evaluation.service`; `data.evaluation` carries the details.
        "evaluation_started": "the deployed model's evaluation started; `evaluation` has the "
        "attempt and the estimated tokens and cost",
        "evaluated": "the deployed model was evaluated; `evaluation` has the verdict, its "
        "headline with counts, the action that helps, and the scores per probe set",
        "evaluation_skipped": "the evaluation was skipped; `reason` says why",
        # Raised by `shared.improvement.service`; `data.improvement` carries the details.
        "improved": "the run was improved: `improvement.stage` is `written` when the child "
        "run's augmented files were written to the reports container, `started` when the child "
        "run was dropped into the inbox; `improvement.child` names it",
        # Raised by `shared.pipeline.model_admission`, once per run, 30 days ahead.
        "model_retiring": "the deployed model retires within 30 days, after which it stops "
        "answering; `model` and `retires_at` say which and when",
        # Raised by `shared.runs.waiting`; `data.waiting` has for, in_use, limit, runs_ahead.
        "waiting_for_capacity": "the run waits for room on the shared Azure OpenAI account; "
        "`reason` says for what and how many runs are ahead",
        # Raised by `shared.pipeline.placement` when the run is admitted to the pool.
        "placed": "the run was placed on an account of the pool; `account` names it, and every "
        "later step (upload, job, deployment, chat) uses that account",
    }
)

EVENT_TYPES: Mapping[str, str] = MappingProxyType(
    {PREFIX + name: meaning for name, meaning in {**STATE_EVENTS, **OTHER_EVENTS}.items()}
)


def event_type(name: str) -> str:
    """The type of the event called `name` (a state's value or an `OTHER_EVENTS` key)."""
    full = PREFIX + name
    if full not in EVENT_TYPES:
        raise ValueError(f"{name!r} is not a Tunedrop event; see shared.notifications.events")
    return full


def new_event_id() -> str:
    return f"evt_{uuid.uuid4().hex}"


def event_payload(run: Run, raised: RaisedEvent, event_id: str) -> dict[str, Any]:
    """The JSON body receivers get for `raised`, with the fields they need without calling back."""
    data: dict[str, Any] = {
        "run": run.name,
        "state": run.state.value if raised.name not in STATE_EVENTS else raised.name,
        "previous_state": raised.previous_state.value if raised.previous_state else None,
        "sequence": raised.sequence,
        "reason": raised.reason,
    }
    if run.account is not None:
        data["account"] = run.account  # the pool account it was placed on
    data.update(_extra(run, raised))
    data.update(raised.data)
    # Reasons quote upstream messages, which may carry a SAS signature or a key: masked as the
    # run view masks them, before the event is stored, sent or listed.
    return {
        "id": event_id,
        "type": event_type(raised.name),
        "time": _iso(raised.at),
        "data": redact(data),
    }


def _extra(run: Run, raised: RaisedEvent) -> dict[str, Any]:
    if raised.name == RunState.SUCCEEDED and run.job is not None:
        return {"fine_tuned_model": run.job.fine_tuned_model}
    if raised.name == RunState.DEPLOYED and run.deployment is not None:
        deployment = run.deployment
        expires = deployment.expires_at
        shown: dict[str, Any] = {
            "name": deployment.name,
            "model": deployment.model,
            "expires_at": _iso(expires) if expires else None,
        }
        where = deployment.account or run.account
        if where is not None:
            shown["account"] = where  # the pool account the model went to
        return {"deployment": shown}
    if raised.name == RunState.FAILED:
        return {"failure_reason": run.failure_reason}
    return {}


def _iso(moment: datetime) -> str:
    return moment.isoformat()
