"""Carrying out one planned step of a run through the adapters.

Every step that creates something (an upload, a job, a deployment) first looks for what an earlier,
interrupted attempt may already have created, so a crash between the call and the save that
records it never leads to a second file, job or deployment.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta

from shared.pipeline.housekeeping import check_deployment, clean_up_files
from shared.pipeline.model_admission import admit_run_model
from shared.pipeline.pool import deployment_services, deployment_source
from shared.pipeline.protocols import JobSpec, ModelEvaluation, RemoteJob, UploadSource
from shared.pipeline.services import Services
from shared.runs.config import default_config
from shared.runs.curves import LossPoint, overfitting_verdict, parse_results
from shared.runs.deploy_choice import deployment_for
from shared.runs.facts import Claim, DeploymentInfo, MetricsSummary, UploadedFile
from shared.runs.names import FileKind, deployment_name_for
from shared.runs.plan import (
    CancelRun,
    CheckDeployment,
    CleanUpFiles,
    CreateDeployment,
    CreateJob,
    DeleteDeployment,
    EvaluateModel,
    FailRun,
    PollDeployment,
    PollJob,
    ProbeChat,
    StartRun,
    Step,
    UploadFile,
    WaitForFileProcessing,
)
from shared.runs.record import Run
from shared.runs.states import RunState

logger = logging.getLogger(__name__)

RUN_TAG = "tunedrop-run"
READ_URL_LIFETIME = timedelta(hours=2)
PROBE_MESSAGES = ({"role": "user", "content": "Hello"},)
SUCCEEDED = "succeeded"
FINISHED_JOB_STATES = frozenset({"succeeded", "failed", "cancelled"})


def upload_filename(run: str, kind: FileKind, blob_etag: str) -> str:
    """The name a run file gets in Azure OpenAI: unique per run, file and blob version, so an
    upload interrupted before it was recorded is found again instead of sent twice."""
    version = hashlib.sha256(blob_etag.encode()).hexdigest()[:12]
    return f"{run}--{kind.name.lower()}--{version}.jsonl"


def execute(step: Step, run: Run, services: Services, now: datetime, earlier: Claim | None) -> None:
    """Does `step` for `run` and applies the outcome to the record (the caller saves it).

    `earlier` is the claim an interrupted attempt of the same step left behind, if any.
    """
    match step:
        case CancelRun():
            cancel_job_of(run, services)
            run.cancel(now, "cancelled on request")
        case FailRun(reason=reason):
            run.fail(reason, now)
        case StartRun(reason=reason):
            if admit_run_model(run, services, now):
                run.start(now, default_config(services.policy.defaults), reason)
        case UploadFile(kind=kind):
            _upload(run, kind, services, now)
        case WaitForFileProcessing(kinds=kinds):
            for kind in kinds:
                remote = services.fine_tuning.get_file(run.uploads[kind].file_id)
                run.file_observed(kind, remote.status, remote.error, now)
        case CreateJob():
            _create_job(run, services, now)
        case PollJob():
            _poll_job(run, services, now)
        case CreateDeployment():
            _create_deployment(run, services, now, earlier)
        case PollDeployment():
            deployment = _deployment(run)
            remote = deployment_services(run, services).deployments.get(deployment.name)
            if remote is None:
                run.deployment_failed(
                    f"deployment {deployment.name!r} disappeared while being created", now
                )
            else:
                run.deployment_observed(remote.state, now, remote.error)
        case ProbeChat():
            deployment = _deployment(run)
            deployed_on = deployment_services(run, services)
            deployed_on.chat.complete(deployment.name, PROBE_MESSAGES, max_tokens=16)
            run.deployment_serving(now)
        case DeleteDeployment(reason=reason):
            _delete_deployment(run, services, now, reason)
        case EvaluateModel():
            _evaluate(run, deployment_services(run, services), now)
        case CleanUpFiles():
            clean_up_files(run, services, now)
        case CheckDeployment():
            check_deployment(run, deployment_services(run, services), now)
        case _:
            raise TypeError(f"no executor for step {step!r}")


def _evaluate(run: Run, services: Services, now: datetime) -> None:
    evaluation: ModelEvaluation | None = services.evaluation
    if evaluation is not None:
        evaluation.advance(run, services, now)
    elif run.claim is not None:  # evaluation was turned off since the step was planned
        run.release_claim(run.claim)


def cancel_job_of(run: Run, services: Services) -> None:
    """Cancels the run's Azure job if one exists and has not finished, including a job an
    interrupted attempt created but did not record."""
    job_id = run.job.id if run.job else None
    train = run.uploads.get(FileKind.TRAIN)
    if job_id is None and train is not None:
        found = services.fine_tuning.find_job(train.file_id)
        job_id = found.id if found else None
    if job_id is None:
        return
    remote = services.fine_tuning.get_job(job_id)
    if remote.status not in FINISHED_JOB_STATES:
        services.fine_tuning.cancel_job(job_id)
        logger.info("Run %s: cancelled job %s", run.name, job_id)


def _upload(run: Run, kind: FileKind, services: Services, now: datetime) -> None:
    verdict = run.files[kind]
    filename = upload_filename(run.name, kind, verdict.blob_etag)
    remote = services.fine_tuning.find_file(filename)
    if remote is None:
        blob = f"{run.name}/{kind.value}"
        info = services.inbox.info(blob)
        if info is None or info.etag != verdict.blob_etag:
            run.fail(
                f"{kind.value} was changed or deleted after it was validated; the validated "
                "version is gone. Drop the files in a new folder to start a new run.",
                now,
            )
            return
        source = UploadSource(
            filename=filename,
            size=info.size,
            chunks=lambda: services.inbox.chunks(blob, info.etag),
            read_url=lambda: services.inbox.read_url(blob, READ_URL_LIFETIME),
        )
        remote = services.fine_tuning.upload_file(source)
        logger.info("Run %s: uploaded %s as %s", run.name, kind.value, remote.id)
    else:
        logger.info("Run %s: found %s uploaded earlier as %s", run.name, kind.value, remote.id)
    run.file_uploaded(kind, UploadedFile(remote.id, filename, remote.status, remote.error), now)


def _create_job(run: Run, services: Services, now: datetime) -> None:
    train = run.uploads[FileKind.TRAIN]
    remote = services.fine_tuning.find_job(train.file_id)
    found = remote is not None
    if remote is None:
        config = run.config or default_config(services.policy.defaults)
        validation = run.uploads.get(FileKind.VALIDATION)
        spec = JobSpec(
            model=config.model,
            training_file=train.file_id,
            validation_file=validation.file_id if validation else None,
            hyperparameters=config.hyperparameters(),
            suffix=config.suffix or run.name[:40].rstrip("-"),
            seed=config.seed,
            training_type=config.training_type,
        )
        remote = services.fine_tuning.create_job(spec)
        logger.info("Run %s: created fine-tuning job %s", run.name, remote.id)
    run.job_created(remote.id, remote.status, now, found=found)
    if found:
        # The job may have moved on (or even finished) while nobody recorded it.
        _poll_job(run, services, now)


def _poll_job(run: Run, services: Services, now: datetime) -> None:
    job = run.job
    if job is None:
        return
    remote = services.fine_tuning.get_job(job.id)
    run.events_seen(services.fine_tuning.job_events(job.id, job.last_event_id), now)
    checkpoints = services.fine_tuning.job_checkpoints(job.id)
    run.checkpoints_seen(checkpoints, now)
    if remote.status == SUCCEEDED and remote.result_files:
        text = services.fine_tuning.results(remote.result_files[0])
        _record_curves(run, services, parse_results(text), final=True)
    elif checkpoints:
        points = [LossPoint.from_metrics(c.step, c.metrics) for c in checkpoints]
        _record_curves(run, services, points, final=False)
    _observe(run, remote, services, now)


def _observe(run: Run, remote: RemoteJob, services: Services, now: datetime) -> None:
    run.job_observed(
        remote.status,
        now,
        fine_tuned_model=remote.fine_tuned_model,
        trained_tokens=remote.trained_tokens,
        error=remote.error,
        result_files=list(remote.result_files),
        hyperparameters=remote.hyperparameters,
        seed=remote.seed,
    )


def _record_curves(run: Run, services: Services, points: list[LossPoint], final: bool) -> None:
    if not points:
        return
    services.runs.save_points(run.name, points)
    last = points[-1]
    valid = [p for p in points if (p.full_valid_loss or p.valid_loss) is not None]
    summary = MetricsSummary(
        points=len(points),
        last_step=last.step,
        final_train_loss=last.train_loss,
        final_valid_loss=(valid[-1].full_valid_loss or valid[-1].valid_loss) if valid else None,
    )
    run.curves_recorded(summary, overfitting_verdict(points) if final else None)


def _create_deployment(run: Run, services: Services, now: datetime, earlier: Claim | None) -> None:
    config = run.config or default_config(services.policy.defaults)
    if run.state is RunState.SUCCEEDED and run.job is not None:
        deploy = config.deploy
        name = deploy.name or deployment_name_for(run.name)
        info = deployment_for(name, deploy, run.job, now)
        why = f": {info.chosen_because}" if info.chosen_because else ""
        run.deployment_requested(info, now, f"deploying {info.model} as {name!r}{why}")
    deployment = _deployment(run)
    model = _deployed_model(run, deployment)
    if not model:
        run.deployment_failed("the service named no fine-tuned model to deploy", now)
        return
    # On the run's account, or on the other account the tick chose for it (its model's
    # source then named), where a retried attempt finds what an earlier one created.
    deployments = deployment_services(run, services).deployments
    remote = deployments.get(deployment.name)
    if remote is None:
        tags = {RUN_TAG: run.name}
        source = deployment_source(run, services)
        extra = {"source": source} if source is not None else {}
        remote = deployments.create(
            deployment.name, model, deployment.sku, deployment.capacity, tags, **extra
        )
        run.deployment_created(model, remote.state, True, now)
        return
    if remote.model != model:
        run.deployment_failed(
            f"a deployment named {deployment.name!r} already exists with model {remote.model!r}; "
            "Tunedrop will not replace it. Choose another deploy.name in run.json.",
            now,
        )
        return
    # Ours if it carries our tag, or if an attempt of ours was cut short after asking for it;
    # otherwise someone else deployed this run's model, and Tunedrop must never delete it.
    ours = remote.tags.get(RUN_TAG) == run.name or earlier is not None
    run.deployment_created(model, remote.state, ours, now)


def _delete_deployment(run: Run, services: Services, now: datetime, reason: str) -> None:
    deployment = _deployment(run)
    services = deployment_services(run, services)
    if not deployment.created:
        # Torn down before its creation was recorded: delete only what an interrupted attempt
        # of ours may have created (our tag, our model), never a stranger's deployment.
        remote = services.deployments.get(deployment.name)
        model = _deployed_model(run, deployment)
        ours = remote is not None and remote.tags.get(RUN_TAG) == run.name
        if ours and remote is not None and remote.model == model:
            services.deployments.delete(deployment.name)
        run.deployment_deleted(now, f"deployment {deployment.name!r} torn down: {reason}")
    elif deployment.created_by_tunedrop:
        services.deployments.delete(deployment.name)
        run.deployment_deleted(now, f"deployment {deployment.name!r} deleted: {reason}")
    else:
        run.deployment_deleted(
            now,
            f"{reason}; deployment {deployment.name!r} was not created by Tunedrop and is left "
            "in place",
        )


def _deployed_model(run: Run, deployment: DeploymentInfo) -> str | None:
    """The model the deployment serves: the one chosen when it was requested (a record from
    before that choice existed deploys the final model)."""
    return deployment.model or (run.job.fine_tuned_model if run.job else None)


def _deployment(run: Run) -> DeploymentInfo:
    if run.deployment is None:
        raise TypeError(f"run {run.name!r} has no deployment to act on")
    return run.deployment
