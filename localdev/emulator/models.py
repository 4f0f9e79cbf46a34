"""GET /models: the base models that can be fine-tuned, and this account's fine-tuned ones."""

from __future__ import annotations

from functools import partial
from typing import Any

from localdev.emulator.catalog import BASE_MODELS, BaseModel
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
    return [_base(m) for m in BASE_MODELS] + [_tuned(j) for j in tuned]


def list_models(state: State, request: Request, params: dict[str, str]) -> Response:
    return json_response(200, {"object": "list", "data": all_models(state)})


def get_model(state: State, request: Request, params: dict[str, str]) -> Response:
    found = next((m for m in all_models(state) if m["id"] == params["model_id"]), None)
    if found is None:
        raise ApiError(404, "notFound", f"The model '{params['model_id']}' could not be found.")
    return json_response(200, found)


def _base(model: BaseModel) -> dict[str, Any]:
    return {
        "object": "model",
        "id": model.id,
        "created_at": model.created_at,
        "status": "succeeded",
        "capabilities": {
            "fine_tune": model.fine_tunable,
            "inference": True,
            "completion": False,
            "chat_completion": True,
            "embeddings": False,
        },
        "lifecycle_status": "generally-available",
        "deprecation": {
            "fine_tune": model.fine_tune_retires_at,
            "inference": model.inference_retires_at,
        },
    }


def _tuned(job: Job) -> dict[str, Any]:
    return {
        "object": "model",
        "id": job.fine_tuned_model,
        "created_at": int(job.ended_at),
        "status": "succeeded",
        "model": job.model,
        "fine_tune": job.id,
        "capabilities": {
            "fine_tune": False,
            "inference": True,
            "completion": False,
            "chat_completion": True,
            "embeddings": False,
        },
        "lifecycle_status": "generally-available",
        "deprecation": {"inference": int(job.ended_at) + YEAR_SECONDS},
    }
