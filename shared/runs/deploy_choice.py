"""Which model a deployment serves: the job's final model, or its best kept checkpoint.

Azure OpenAI keeps the last few checkpoints of a fine-tuning job (one per epoch, the final epoch
and the two before it), and each can be deployed by passing its checkpoint ID (`ftchkpt-...`) as
the deployment's model name: "Alternatively you can also deploy a checkpoint, by passing the
checkpoint ID which will appear in the format `ftchkpt-e559c011ecc04fc68eaa339d8227d02d`"
(Azure OpenAI "Deploy a fine-tuned model", MicrosoftDocs/azure-ai-docs
`articles/ai-foundry/openai/how-to/fine-tuning-deploy.md`, 2025-10-25). The ARM spec's
`DeploymentModel` has no field of its own for a checkpoint (format, name, version, source), and
no public example deploys one by its `fine_tuned_model_checkpoint` name.
run.json `deploy.checkpoint` chooses: "final" (the default) deploys the model the job ended
with; "best" deploys the kept checkpoint whose validation loss is lowest (the full validation
loss where the checkpoint reports it), which is the final model when that one is lowest. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.runs.config import DeployConfig
from shared.runs.facts import Checkpoint, DeploymentInfo, JobInfo

FINAL, BEST = "final", "best"


@dataclass(frozen=True)
class ModelChoice:
    model: str
    step: int | None
    """The step of the deployed checkpoint; None for the final model."""
    reason: str


def choose_model(job: JobInfo, wanted: str) -> ModelChoice | None:
    """The model to deploy for `wanted` ("final" or "best"); None while the job named none."""
    final = job.fine_tuned_model
    if not final:
        return None
    if wanted != BEST:
        return ModelChoice(final, None, 'the final model, as deploy.checkpoint "final" asks')
    scored = _scored(job.checkpoints)
    if not scored:
        return ModelChoice(
            final, None, "no kept checkpoint reports a validation loss, so the final model"
        )
    _, best = min(scored, key=lambda item: (item[0], -item[1].step))
    last = max(job.checkpoints, key=lambda item: item.step)
    kept = ", ".join(f"step {c.step}: {value:.3f}" for value, c in sorted(scored, key=_step))
    if best.step == last.step:
        return ModelChoice(
            final, None, f"the final model has the lowest validation loss of the kept ({kept})"
        )
    return ModelChoice(
        best.id,
        best.step,
        f"the kept checkpoint of step {best.step} has the lowest validation loss ({kept})",
    )


def deployment_for(name: str, deploy: DeployConfig, job: JobInfo, now: datetime) -> DeploymentInfo:
    """A new deployment of the model `deploy.checkpoint` chooses from `job`."""
    choice = choose_model(job, deploy.checkpoint)
    return DeploymentInfo(
        name,
        deploy.sku,
        deploy.capacity,
        deploy.ttl_hours,
        now,
        model=choice.model if choice else None,
        checkpoint=deploy.checkpoint,
        checkpoint_step=choice.step if choice else None,
        chosen_because=choice.reason if choice else None,
    )


def _scored(checkpoints: list[Checkpoint]) -> list[tuple[float, Checkpoint]]:
    # Full validation loss (the whole validation file) where every checkpoint has it; else the
    # mini-batch validation loss, never a mix of the two.
    for key in ("full_valid_loss", "valid_loss"):
        scored = [(c.metrics[key], c) for c in checkpoints if key in c.metrics]
        if scored and len(scored) == len(checkpoints):
            return scored
    return []


def _step(item: tuple[float, Checkpoint]) -> int:
    return item[1].step
