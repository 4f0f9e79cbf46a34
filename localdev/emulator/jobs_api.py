"""Fine-tuning job routes: create, list, get, cancel, delete, events, checkpoints."""

from __future__ import annotations

import re
import time
import uuid
from functools import partial
from typing import Any

from localdev.emulator import limits
from localdev.emulator.datasets import Dataset, too_few_training_examples
from localdev.emulator.files import StoredFile, store_file
from localdev.emulator.jobs import TERMINAL, Job, checkpoints, events
from localdev.emulator.store import State, new_id
from localdev.emulator.training import plan_training, resolve_hyperparameters, results_csv
from localdev.emulator.wire import ApiError, Request, Response, Router, json_response, page_after

SUFFIX = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
NEVER = float("inf")


def register(router: Router, state: State) -> None:
    base = "/openai/fine_tuning/jobs"
    router.add("POST", base, partial(create_job, state))
    router.add("GET", base, partial(list_jobs, state))
    router.add("GET", base + "/{job_id}", partial(get_job, state))
    router.add("DELETE", base + "/{job_id}", partial(delete_job, state))
    router.add("POST", base + "/{job_id}/cancel", partial(cancel_job, state))
    router.add("GET", base + "/{job_id}/events", partial(list_events, state))
    router.add("GET", base + "/{job_id}/checkpoints", partial(list_checkpoints, state))


def find_job(state: State, job_id: str) -> Job:
    job = state.jobs.get(job_id)
    if job is None:
        raise ApiError(404, "notFound", f"The fine-tuning job '{job_id}' could not be found.")
    return job


def fine_tunable_model(state: State, model_id: str) -> str:
    """The model a job may train: a base model the catalog lets this account fine-tune now, or
    a fine-tuned model of this account whose base still can (continuous fine-tuning).
    The refusal's shape is a guess (see README): the spec documents no code for it."""
    now = state.now()
    base = state.catalog.base_model(model_id)
    if base is None:
        with state.lock:
            tuned = any(
                j.fine_tuned_model == model_id and j.status(now) == "succeeded"
                for j in state.jobs.values()
            )
        base = state.catalog.base_of_tuned(model_id) if tuned else None
    if base is None or not base.fine_tunable:
        raise ApiError(
            400, "invalidPayload", "The specified base model does not support fine-tuning."
        )
    if not base.fine_tunable_at(now):
        raise ApiError(
            400,
            "invalidPayload",
            f"The model '{model_id}' can no longer be fine-tuned: fine-tuning of {base.id} "
            f"retired on {_day(base.fine_tune_retires_at)}.",
        )
    return model_id


def _day(when: int | None) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(when or 0))


def create_job(state: State, request: Request, params: dict[str, str]) -> Response:
    body = request.json()
    if not isinstance(body, dict):
        raise ApiError(400, "invalidPayload", "The request body must be a JSON object.")
    missing = [k for k in ("model", "training_file") if not body.get(k)]
    if missing:
        raise ApiError(400, "invalidPayload", f"The request is missing: {', '.join(missing)}.")
    model = fine_tunable_model(state, str(body["model"]))
    training, train_data = _processed_file(state, str(body["training_file"]), "training")
    validation, n_valid = None, 0
    if body.get("validation_file"):
        validation, valid_data = _processed_file(state, str(body["validation_file"]), "validation")
        n_valid = len(valid_data.examples)
    suffix, seed = _suffix_and_seed(body)
    training_type = _training_type(body)
    try:
        hyper = resolve_hyperparameters(body.get("hyperparameters"), len(train_data.examples))
    except ValueError as exc:
        raise ApiError(400, "invalidPayload", f"{exc}.") from exc
    plan = plan_training(
        hyper,
        n_train=len(train_data.examples),
        n_valid=n_valid,
        seed=seed,
        fingerprint=train_data.fingerprint,
    )
    # The room checked is the room taken: no other creation between the check and the insert.
    with state.lock:
        limits.check_job_room(state)
        now, timings = state.now(), state.timings
        started = now + timings.job_queued
        trains_until = started + hyper.n_epochs * timings.job_step
        results = store_file(
            state, filename="results.csv", purpose="fine-tune-results",
            content=results_csv(plan).encode(), path=None, visible_at=trains_until,
        )  # fmt: skip
        job = Job(
            id=new_id("ftjob"), model=model, training_file=training.id,
            validation_file=validation.id if validation else None, suffix=suffix, seed=seed,
            created_at=now, started_at=started, trains_until=trains_until,
            ended_at=trains_until, outcome="succeeded", plan=plan,
            trained_tokens=train_data.tokens * hyper.n_epochs, results_file=results.id,
            requested=dict(body.get("hyperparameters") or {}), training_type=training_type,
        )  # fmt: skip
    too_few = too_few_training_examples(train_data)
    fault = None if too_few else state.faults.take_lifecycle("job_fails", request.path)
    if too_few:
        # The service validates the training file before training: the job fails as it starts.
        job.outcome, job.ended_at = "failed", started
        job.error_code, job.error_message = "invalid_n_examples", too_few
        results.visible_at = NEVER
    elif fault is not None:
        job.outcome, job.ended_at = "failed", started + (trains_until - started) / 2
        job.error_code, job.error_message = fault.code or "internal_error", fault.failure_message
        results.visible_at = NEVER
    with state.lock:
        state.jobs[job.id] = job
        # A continued model answers from what its parent learnt as well as from the new data.
        parent = state.trained.get(model)
        learnt = parent.examples + train_data.examples if parent else train_data.examples
        state.trained[job.fine_tuned_model] = Dataset(learnt, train_data.fingerprint)
        limits.schedule(state)
    limits.usage(state)
    location = f"http://{request.header('host')}/openai/fine_tuning/jobs/{job.id}"
    return json_response(201, job.to_json(now), {"Location": location})


def list_jobs(state: State, request: Request, params: dict[str, str]) -> Response:
    now = state.now()
    with state.lock:
        jobs = sorted(state.jobs.values(), key=lambda j: j.created_at, reverse=True)
    page, has_more = page_after(jobs, request, default_limit=20, id_of=lambda j: j.id)
    data = [j.to_json(now) for j in page]
    return json_response(200, {"object": "list", "data": data, "has_more": has_more})


def get_job(state: State, request: Request, params: dict[str, str]) -> Response:
    return json_response(200, find_job(state, params["job_id"]).to_json(state.now()))


def cancel_job(state: State, request: Request, params: dict[str, str]) -> Response:
    with state.lock:
        job = find_job(state, params["job_id"])
        now = state.now()
        status = job.status(now)
        if status in TERMINAL:
            message = f"The job '{job.id}' has already ended ({status}) and cannot be cancelled."
            raise ApiError(400, "unexpectedEntityState", message)
        job.outcome, job.ended_at = "cancelled", now
        state.files[job.results_file].visible_at = NEVER
        limits.schedule(state)  # a slot may have freed early
    return json_response(200, job.to_json(now))


def delete_job(state: State, request: Request, params: dict[str, str]) -> Response:
    with state.lock:
        job = find_job(state, params["job_id"])
        if job.status(state.now()) not in TERMINAL:
            message = f"The job '{job.id}' is still running; cancel it before deleting it."
            raise ApiError(400, "unexpectedEntityState", message)
        del state.jobs[job.id]
    return Response(204)


def list_events(state: State, request: Request, params: dict[str, str]) -> Response:
    found = events(find_job(state, params["job_id"]), state.now())
    page, has_more = page_after(found, request, default_limit=20, id_of=lambda e: e["id"])
    return json_response(200, {"object": "list", "data": page, "has_more": has_more})


def list_checkpoints(state: State, request: Request, params: dict[str, str]) -> Response:
    found = checkpoints(find_job(state, params["job_id"]), state.now())
    page, has_more = page_after(found, request, default_limit=10, id_of=lambda c: c["id"])
    return json_response(200, {"object": "list", "data": page, "has_more": has_more})


def _processed_file(state: State, file_id: str, role: str) -> tuple[StoredFile, Dataset]:
    stored = state.files.get(file_id)
    if stored is None or state.now() < stored.visible_at:
        raise ApiError(400, "invalidPayload", f"The {role} file '{file_id}' does not exist.")
    status = stored.status(state.now())
    if status != "processed" or stored.dataset is None:
        message = (
            f"The {role} file '{file_id}' is not ready for fine-tuning (status '{status}'); "
            "only files with status 'processed' and purpose 'fine-tune' can be used."
        )
        raise ApiError(400, "invalidPayload", message)
    return stored, stored.dataset


def _suffix_and_seed(body: dict[str, Any]) -> tuple[str | None, int]:
    suffix = body.get("suffix")
    if suffix is not None and (not isinstance(suffix, str) or not SUFFIX.match(suffix)):
        message = "The suffix must be 1 to 40 letters, digits, '-' or '_'."
        raise ApiError(400, "invalidPayload", message)
    seed = body.get("seed")
    if seed is None:
        seed = uuid.uuid4().int % 2**31
    elif isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**31:
        raise ApiError(400, "invalidPayload", "The seed must be a whole number from 0 to 2^31-1.")
    return suffix, seed


# `trainingType` (api-version 2025-04-01-preview and later) as the service names it.
TRAINING_TYPES = {"standard": "standard", "globalstandard": "global", "developer": "developer"}


def _training_type(body: dict[str, Any]) -> str:
    sent = body.get("trainingType")
    if sent is None:
        return "standard"
    found = TRAINING_TYPES.get(str(sent).lower())
    if found is None:
        message = "The trainingType must be one of Standard, GlobalStandard or Developer."
        raise ApiError(400, "invalidPayload", message)
    return found
