"""The count limits of a shared Azure OpenAI account that Tunedrop plans with."""

from __future__ import annotations

from dataclasses import dataclass

GIB = 1024**3


@dataclass(frozen=True)
class AccountLimits:
    """Settings whose defaults are the documented limits (Azure OpenAI "Quotas and limits",
    MicrosoftDocs/azure-ai-docs `articles/ai-foundry/openai/quotas-limits.md`, 2026-02-17)."""

    running_jobs: int = 3
    queued_jobs: int = 20
    total_jobs: int = 100
    deployments: int = 10
    files: int = 100
    file_bytes: int = GIB
