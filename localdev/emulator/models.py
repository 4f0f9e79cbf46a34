"""GET /models: the account's base models and its fine-tuned ones, as of the emulator's clock.

Each answer is measured against `state.now()`: past a model's fine-tune retirement its
`capabilities.fine_tune` is false, past its retirement `capabilities.inference` is false. A
fine-tuned model can be trained further (continuous fine-tuning) while its base can.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from localdev.emulator.catalog import BaseModel
from localdev.emulator.jobs import Job
from localdev.emulator.store import State
from localdev.emulator.wire import ApiError, Request, Response, Router, json_response

YEAR_SECONDS = 365 * 24 * 3600


def register(router: Router, state: State) -> None:
    router.add("GET", "/openai/models", partial(list_models, state))
    router.add("GET", "/openai/models/{model_id}", partial(get_model, state))


def all_models(state: State) -> list[dict[str, Any]]:
    now = state.now()
    with state.lock:
        tuned = [j for j in state.jobs.values() if j.status(now) == "succeeded"]
    bases = [_base(m, now) for m in state.catalog.models]
    return bases + [_tuned(j, state.catalog.base_of_tuned(j.fine_tuned_model), now) for j in tuned]


def list_models(state: State, request: Request, params: dict[str, str]) -> Response:
    return json_response(200, {"object": "list", "data": all_models(state)})


def get_model(state: State, request: Request, params: dict[str, str]) -> Response:
    found = next((m for m in all_models(state) if m["id"] == params["model_id"]), None)
    if found is None:
        raise ApiError(404, "notFound", f"The model '{params['model_id']}' could not be found.")
    return json_response(200, found)


def _base(model: BaseModel, now: float) -> dict[str, Any]:
    deprecation = {"inference": model.inference_retires_at}
    if model.fine_tune_retires_at is not None:
        deprecation["fine_tune"] = model.fine_tune_retires_at
    return {
        "object": "model",
        "id": model.id,
        "created_at": model.created_at,
        "status": "succeeded",
        "capabilities": {
            "fine_tune": model.fine_tunable_at(now),
            "inference": not model.retired_at(now),
            "completion": False,
            "chat_completion": True,
            "embeddings": False,
        },
        "lifecycle_status": model.lifecycle_status,
        # The spec requires `inference`; a model the docs give no date for answers null.
        "deprecation": deprecation,
    }


def _tuned(job: Job, base: BaseModel | None, now: float) -> dict[str, Any]:
    ends = base.tuned_retires_at if base else None
    retires = ends if ends is not None else int(job.ended_at) + YEAR_SECONDS
    return {
        "object": "model",
        "id": job.fine_tuned_model,
        "created_at": int(job.ended_at),
        "status": "succeeded",
        "model": job.model,
        "fine_tune": job.id,
        "capabilities": {
            "fine_tune": base is not None and base.fine_tunable_at(now),
            "inference": now < retires,
            "completion": False,
            "chat_completion": True,
            "embeddings": False,
        },
        "lifecycle_status": "generally-available",
        "deprecation": {"inference": retires},
    }
