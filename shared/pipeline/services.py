"""The adapters and policy one call of the service layer works with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from shared.model_catalog import ModelCatalog
from shared.notifications.service import Notifier
from shared.pipeline.protocols import (
    Chat,
    Deployments,
    FineTuning,
    InboxFiles,
    ReportStore,
    RunStore,
)
from shared.runs.plan import RunPolicy
from shared.settings import Settings

if TYPE_CHECKING:  # the evaluation's service imports this module
    from shared.evaluation.ports import EvaluationKit
    from shared.improvement.ports import ImprovementKit
    from shared.pipeline.fan_out import FanOut
    from shared.pipeline.pool import AccountPool


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Services:
    """Everything the service layer needs, built in one place (`shared.bootstrap`)."""

    runs: RunStore
    inbox: InboxFiles
    reports: ReportStore
    fine_tuning: FineTuning
    deployments: Deployments
    chat: Chat
    policy: RunPolicy
    clock: Callable[[], datetime] = field(default=utc_now)
    base_deployment: str = ""
    """The deployment of the base model, for `chat(compare=True)`; empty: no comparison."""
    max_chat_tokens: int = 800
    settings: Settings | None = None
    """The app settings the services were built from (None for hand-built test services)."""
    notifier: Notifier | None = None
    """The run events' adapters; None: `shared.bootstrap.notifier()` builds them."""
    evaluation: EvaluationKit | None = None
    """What the evaluation of deployed models uses (None: no evaluation)."""
    improvement: ImprovementKit | None = None
    """What improving a run uses (None: runs are not improved)."""
    models: ModelCatalog | None = None
    """The account's model list (None: hand-built test services, which skip the model checks)."""
    accounts: AccountPool | None = None
    """The pool of accounts (None: hand-built test services; every run uses these services)."""
    fan_out: FanOut | None = None
    """When a tick puts its due runs on RUNS_QUEUE (None: the timer advances every run)."""
