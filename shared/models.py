"""The one table of fine-tunable base models and their rules (limits, default prices).

Pure data and arithmetic: no I/O, standard library only.

Sources, looked up on 2026-11-24:
- Per-example token limits ("Training example context length"): Microsoft Learn, Azure OpenAI
  "Fine-tuning models" include (MicrosoftDocs/azure-ai-docs,
  articles/ai-foundry/openai/includes/fine-tune-models.md): 65,536 for gpt-4o, gpt-4o-mini,
  gpt-4.1 and gpt-4.1-mini; 32,768 for gpt-4.1-nano. gpt-35-turbo-0125 is no longer in that
  table; its 16,385-token context is from the earlier revision of the same page.
- Hosting: "Cost management for fine-tuning" (same repository,
  articles/ai-foundry/openai/how-to/fine-tuning-cost-management.md, ms.date 2026-02-11):
  Standard and Global Standard deployments of a fine-tuned model cost $1.70/hour. The page
  gives one figure for all models, so every row uses it.
- Training prices per million tokens: NOT confirmed against the Azure pricing page
  (https://azure.microsoft.com/pricing/details/cognitive-services/openai-service), which could not
  be read from here. The values are the public list prices of the same models for global
  training as quoted by several third-party pages (gpt-4o 25, gpt-4o-mini 3, gpt-4.1 25,
  gpt-4.1-mini 5, gpt-4.1-nano 1.50, gpt-35-turbo 8). Regional (data-resident) training costs
  more. Treat them as defaults: the settings may override the price per model, and the estimate
  is labelled an estimate wherever it is shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from shared.errors import InvalidInput


@dataclass(frozen=True)
class BaseModel:
    """A base model Azure OpenAI can fine-tune, with the limits and prices Tunedrop applies."""

    name: str
    """Azure model name with version, e.g. "gpt-4o-2024-08-06"."""
    max_example_tokens: int
    """Longest training example (all its messages, in tokens) the service accepts."""
    training_usd_per_million_tokens: float
    """Default training price; the settings may override it."""
    hosting_usd_per_hour: float
    """Hourly price of a deployed fine-tuned model (Standard deployment)."""


_HOSTING_USD_PER_HOUR = 1.70

BASE_MODELS: Mapping[str, BaseModel] = MappingProxyType(
    {
        model.name: model
        for model in (
            BaseModel("gpt-4o-2024-08-06", 65_536, 25.00, _HOSTING_USD_PER_HOUR),
            BaseModel("gpt-4o-mini-2024-07-18", 65_536, 3.00, _HOSTING_USD_PER_HOUR),
            BaseModel("gpt-4.1-2025-04-14", 65_536, 25.00, _HOSTING_USD_PER_HOUR),
            BaseModel("gpt-4.1-mini-2025-04-14", 65_536, 5.00, _HOSTING_USD_PER_HOUR),
            BaseModel("gpt-4.1-nano-2025-04-14", 32_768, 1.50, _HOSTING_USD_PER_HOUR),
            BaseModel("gpt-35-turbo-0125", 16_385, 8.00, _HOSTING_USD_PER_HOUR),
        )
    }
)

DEFAULT_MODEL = "gpt-4o-mini-2024-07-18"


def base_model(name: str) -> BaseModel:
    """The base model called `name`; raises `InvalidInput` naming the models Tunedrop knows."""
    try:
        return BASE_MODELS[name]
    except KeyError:
        known = ", ".join(sorted(BASE_MODELS))
        raise InvalidInput(
            f'"{name}" is not a base model Tunedrop can fine-tune; use one of: {known}.'
        ) from None


def estimate_training_cost_usd(
    model: BaseModel, billable_tokens: int, price_override: float | None = None
) -> float:
    """Training cost in USD of `billable_tokens` (tokens x epochs); not rounded.

    `price_override` is a price per million tokens from the settings; None uses the table's.
    """
    price = model.training_usd_per_million_tokens if price_override is None else price_override
    return billable_tokens * price / 1_000_000
