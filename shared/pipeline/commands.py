"""Acting on one run at a caller's request: deploy, tear down, cancel, chat.

Each command changes the record with optimistic concurrency and leaves the slow work (creating or
deleting a deployment) to the timer, which does it exactly once; callers get the run back at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.errors import ConcurrentUpdate, Conflict, DeploymentNotReady
from shared.pipeline.housekeeping import check_deployment
from shared.pipeline.pool import deployment_services, services_of
from shared.pipeline.queries import get_run
from shared.pipeline.services import Services
from shared.pipeline.steps import cancel_job_of
from shared.runs.config import DeployConfig, default_config, parse_deploy_options
from shared.runs.deploy_choice import deployment_for
from shared.runs.names import deployment_name_for
from shared.runs.plan import next_step
from shared.runs.record import Run
from shared.runs.states import TRANSITIONS, RunState

S = RunState
SAVE_ATTEMPTS = 5


def request_deploy(
    services: Services, name: str, now: datetime, options: Mapping[str, Any] | None = None
) -> Run:
    """Asks for the run's model to be deployed (again). Idempotent: a run already deploying or
    deployed is returned as it is. `options` may set name, sku, capacity and ttl_hours.
    Raises `Conflict` for a run that has no fine-tuned model."""

    def change(run: Run) -> bool:
        if run.state in (S.DEPLOYING, S.DEPLOYED):
            return False
        model = run.job.fine_tuned_model if run.job else None
        if run.state not in (S.SUCCEEDED, S.EXPIRED) or not model or run.job is None:
            raise Conflict(
                f"run {run.name!r} has no fine-tuned model to deploy; it is {run.state.value}."
            )
        base = (run.config or default_config(services.policy.defaults)).deploy
        deploy = parse_deploy_options(options or {}, base)
        name = deploy.name or deployment_name_for(run.name)
        info = deployment_for(name, deploy, run.job, now)
        why = f": {info.chosen_because}" if info.chosen_because else ""
        run.deployment_requested(info, now, f"deployment of {info.model} requested{why}")
        return True

    return change_run(services, name, change)


def request_teardown(services: Services, name: str, now: datetime) -> Run:
    """Asks for the run's deployment to be deleted now. Idempotent. Raises `Conflict` for a
    deployment Tunedrop did not create (it is never deleted)."""

    def change(run: Run) -> bool:
        deployment = run.deployment
        if run.state not in (S.DEPLOYING, S.DEPLOYED) or deployment is None:
            return False
        if deployment.created and not deployment.created_by_tunedrop:
            raise Conflict(
                f"deployment {deployment.name!r} was not created by Tunedrop; "
                "Tunedrop never deletes it."
            )
        if deployment.teardown_requested:
            return False
        deployment.teardown_requested = True
        run.updated_at = now
        return True

    return change_run(services, name, change)


def cancel_run(services: Services, name: str, now: datetime) -> Run:
    """Cancels a run that has not finished training, and its Azure job if one runs.

    While another tick is in the middle of creating something for the run, the cancellation is
    recorded and the timer finishes it, so a job created at that moment is cancelled too.
    Raises `Conflict` (`IllegalTransition`) for a run past training or already finished."""

    def change(run: Run) -> bool:
        if run.state is S.CANCELLED:
            return False
        if S.CANCELLED not in TRANSITIONS[run.state]:
            run.cancel(now, "cancel requested")  # raises IllegalTransition with the reason
        run.cancel_requested = True
        if next_step(run, now, services.policy).name == "CancelRun":
            cancel_job_of(run, services_of(run, services))
            run.cancel(now, "cancelled on request")
        return True

    return change_run(services, name, change)


@dataclass(frozen=True)
class ChatAnswer:
    reply: str
    model: str
    deployment: str
    usage: Mapping[str, int]
    base_reply: str | None = None
    base_model: str | None = None


def chat(
    services: Services,
    name: str,
    messages: Sequence[Mapping[str, Any]],
    max_tokens: int | None = None,
    compare: bool = False,
) -> ChatAnswer:
    """Chats with the run's deployed model; with `compare`, also with the base deployment.
    `max_tokens` is capped by the MAX_CHAT_TOKENS setting. Raises `Conflict` while the run has
    no serving deployment."""
    run = get_run(services.runs, name)
    if run.state is S.EXPIRED and run.deployment is not None and run.deployment.error:
        raise Conflict(
            f"run {name!r} has no serving deployment: {run.deployment.error}. "
            f"POST /api/runs/{name}/deploy deploys the model again."
        )
    if run.state is not S.DEPLOYED or run.deployment is None:
        raise Conflict(f"run {name!r} has no serving deployment; it is {run.state.value}.")
    if run.deployment.teardown_requested:
        raise Conflict(
            f"the deployment {run.deployment.name!r} of run {name!r} is being torn down on "
            f"request, so it takes no more chat; POST /api/runs/{name}/deploy deploys the model "
            "again once it is gone."
        )
    if compare and not services.base_deployment:
        raise Conflict(
            "compare needs a deployment of the base model, and none is configured "
            "(BASE_DEPLOYMENT); send the request without compare."
        )
    limit = min(max_tokens or services.max_chat_tokens, services.max_chat_tokens)
    home = services  # the base model's deployment (compare) is the first account's
    # The model is deployed on the run's account, or on the one it was deployed across to.
    services = deployment_services(run, services)
    try:
        answer = services.chat.complete(run.deployment.name, messages, limit)
    except DeploymentNotReady:
        _notice_vanished(services, name)
        raise
    base_reply = base_model = None
    if compare:
        base = home.chat.complete(home.base_deployment, messages, limit)
        base_reply, base_model = base.reply, base.model
    return ChatAnswer(
        answer.reply, answer.model, run.deployment.name, answer.usage, base_reply, base_model
    )


def _notice_vanished(services: Services, name: str) -> None:
    """Chat found no deployment where a deployed run has one: one GET through ARM tells a
    deployment that is gone (deleted outside Tunedrop) from one that is busy. A gone one is
    recorded at once and the caller gets 409 saying so, rather than a retry later."""
    run = get_run(services.runs, name)
    if run.state is not S.DEPLOYED or run.deployment is None:
        return
    if services.deployments.get(run.deployment.name) is not None:
        return

    def change(fresh: Run) -> bool:
        if fresh.state is not S.DEPLOYED:
            return False
        check_deployment(fresh, services, services.clock())
        return True

    gone = change_run(services, name, change)
    if gone.deployment is not None and gone.deployment.error:
        raise Conflict(
            f"run {name!r} has no serving deployment: {gone.deployment.error}. "
            f"POST /api/runs/{name}/deploy deploys the model again."
        )


def change_run(services: Services, name: str, change: Callable[[Run], bool]) -> Run:
    """Applies `change` to the run called `name` and saves it, reading it again when another
    writer saved first; `change` returns False when there is nothing to save."""
    for _ in range(SAVE_ATTEMPTS):
        run = get_run(services.runs, name)
        if not change(run):
            return run
        try:
            services.runs.save(run)
        except ConcurrentUpdate:
            continue
        return run
    raise ConcurrentUpdate(f"run {name!r} kept changing; try again in a moment.")


__all__ = ["ChatAnswer", "DeployConfig", "cancel_run", "chat", "request_deploy", "request_teardown"]
