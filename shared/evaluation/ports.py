"""What the evaluation needs from the outside, as small Protocols, and its settings.

Real implementations are in `shared.evaluation.adapters` (`AzureOpenAIModelCalls`,
`BlobEvaluationReports`); tests use `Fake*` doubles. Methods raise only `shared.errors` types.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from datetime import datetime

    from shared.pipeline.protocols import ChatReply
    from shared.pipeline.services import Services
    from shared.runs.record import Run


@dataclass(frozen=True)
class EvaluationSettings:
    """The EVAL_* app settings (see the README)."""

    enabled: bool = True
    grader_deployment: str = ""
    base_deployment: str = ""
    trained_probes: int = 12
    paraphrases_per_question: int = 2
    validation_probes: int = 12
    call_cap: int = 400
    calls_per_tick: int = 4
    tick_seconds: float = 120.0
    max_tokens: int = 300
    seed: int = 42
    max_similarity: float = 0.9
    usd_per_million_tokens: float = 2.5


class ModelCalls(Protocol):
    """Chat completions for an evaluation: deterministic settings, optional structured output."""

    def ask(
        self,
        deployment: str,
        messages: Sequence[Mapping[str, str]],
        *,
        max_tokens: int,
        seed: int,
        response_format: Mapping[str, Any] | None = None,
    ) -> ChatReply:
        """Asks at temperature 0 with `seed`; raises `TransientServiceError` (incl.
        `DeploymentNotReady`) when trying later may work, `PermanentServiceError` otherwise."""
        ...


class EvaluationReports(Protocol):
    """Evaluation documents in the reports container."""

    def read_json(self, path: str) -> dict[str, Any] | None:
        """The JSON document at `path`, or None if there is none."""
        ...

    def write_json(self, path: str, document: Mapping[str, Any]) -> None: ...

    def write_text(self, path: str, text: str, content_type: str) -> None: ...


@dataclass(frozen=True)
class EvaluationKit:
    """Everything the evaluation service needs beyond the run's own services."""

    settings: EvaluationSettings
    models: ModelCalls
    reports: EvaluationReports
    on_evaluated: Callable[[Run, Services, datetime], None] | None = None
    """Called once an evaluation has its verdict, before the run is saved (the improvement's
    `auto_improve`, wired in `shared.bootstrap`): what comes after plugs in from above."""

    def advance(self, run: Run, services: Services, now: datetime) -> None:
        """`ModelEvaluation` for the pipeline's evaluation step: see
        `shared.evaluation.service.advance_evaluation`."""
        from shared.evaluation.service import advance_evaluation  # the service imports this module

        advance_evaluation(run, services, now)
