"""Asking the account about a run's model: before anything is uploaded, and while it is deployed.

    admit_run_model(run, services, now)        at StartRun: may this account train the model now?
    refuses_run_model(run, services, now)      before admission: one that cannot train needs no room
    note_deployed_retirement(run, services, now)  each tick of a deployed run: does it retire soon?

Both read the account's model list through `services.models` (cached by the adapter, so a tick
of many runs asks once) and decide with `shared.model_catalog`. Hand-built services without a
catalog skip both checks.
"""

from __future__ import annotations

import logging
from datetime import datetime

from shared.errors import NotFound, ServiceError
from shared.model_catalog import admit, inference_retirement_due
from shared.pipeline.services import Services
from shared.runs.config import default_config
from shared.runs.record import Run
from shared.runs.states import RunState

logger = logging.getLogger(__name__)


def admit_run_model(run: Run, services: Services, now: datetime) -> bool:
    """True when `run` may start; otherwise the run is failed with the reason, naming the
    models the account can fine-tune. A `from_run` is resolved to its parent's model first.

    A transient error reading the list is raised, so the step is retried like any other call.
    """
    if services.models is None:
        return True
    config = run.config or default_config(services.policy.defaults)
    model = config.model
    if config.from_run:
        parent = services.runs.find(config.from_run)
        tuned = parent.job.fine_tuned_model if parent is not None and parent.job else None
        if tuned is None:
            run.fail(
                f'run.json: "from_run" names {config.from_run!r}, which has no fine-tuned model '
                "to continue from (no such run, or its training has not succeeded)",
                now,
            )
            return False
        model = tuned
    admission = admit(model, services.models.models(expecting=model), now)
    if admission.refusal is not None:
        run.fail(admission.refusal, now)
        return False
    if model != config.model:
        run.model_trained_from(model, now, f"continues training {model} (run {config.from_run})")
    for warning in admission.warnings:
        run.model_warned(warning, now)
    return True


def refuses_run_model(run: Run, services: Services, now: datetime) -> bool:
    """True when the account cannot fine-tune the model of a run about to start. Such a run
    asks for no room on the account: the StartRun step fails it at once with the reason, rather
    than after it waited behind other runs for room it will never use. An unreadable list, or a
    `from_run` (resolved at StartRun), says False: the run waits as any other.
    """
    if services.models is None or run.state is not RunState.WAITING_FOR_FILES:
        return False
    config = run.config or default_config(services.policy.defaults)
    if config.from_run:
        return False
    try:
        catalog = services.models.models(expecting=config.model)
    except (ServiceError, NotFound) as exc:
        logger.warning("Run %s: the account's model list could not be read: %s", run.name, exc)
        return False
    return admit(config.model, catalog, now).refusal is not None


def note_deployed_retirement(run: Run, services: Services, now: datetime) -> bool:
    """Warns once (timeline, run page, `model_retiring` event) when the deployed model's
    inference retires within 30 days. True when the run changed (the caller saves it).

    A failure to read the list only postpones the check to a later tick.
    """
    deployment = run.deployment
    if services.models is None or run.state is not RunState.DEPLOYED or deployment is None:
        return False
    # A deployed checkpoint is not listed on its own: it retires with the fine-tuned model.
    tuned = run.job.fine_tuned_model if run.job else None
    model = deployment.model or tuned
    if not model or run.model_retirement_noted == model:
        return False
    try:
        catalog = services.models.models(expecting=tuned or model)
    except (ServiceError, NotFound) as exc:
        logger.warning("Run %s: the account's model list could not be read: %s", run.name, exc)
        return False
    due = (inference_retirement_due(name, catalog, now) for name in (model, tuned) if name)
    retires_at = next((when for when in due if when is not None), None)
    if retires_at is None:
        return False
    run.model_retiring(model, retires_at, now)
    logger.warning("Run %s: deployed model %s retires on %s", run.name, model, retires_at)
    return True
