"""What Tunedrop knows about models that the account does not say: prices, limits, tokenizers.

Which models this account can fine-tune, and until when, is the account's answer
(`shared.model_catalog`, read from `GET /openai/models`), never this table: a model missing here
is accepted when the account lists it as fine-tunable, with an unknown cost estimate.

Pure data and arithmetic: no I/O (tiktoken's model map is a plain table in the package).

Sources, looked up on 2026-11-24 (the rows) and 2026-12-06 (the tokenizer rule):
- Per-example token limits ("Training example context length"): Microsoft Learn, Azure OpenAI
  "Fine-tuning models" include (MicrosoftDocs/azure-ai-docs,
  articles/ai-foundry/openai/includes/fine-tune-models.md): 65,536 for gpt-4o, gpt-4o-mini,
  gpt-4.1 and gpt-4.1-mini; 32,768 for gpt-4.1-nano.
- Hosting: "Cost management for fine-tuning" (same repository,
  articles/ai-foundry/openai/how-to/fine-tuning-cost-management.md, ms.date 2026-02-11):
  Standard and Global Standard deployments of a fine-tuned model cost $1.70/hour. The page
  gives one figure for all models, so every row uses it.
- Training prices per million tokens: NOT confirmed against the Azure pricing page
  (https://azure.microsoft.com/pricing/details/cognitive-services/openai-service), which could not
  be read from here. The values are the public list prices of the same models for global
  training as quoted by several third-party pages (gpt-4o 25, gpt-4o-mini 3, gpt-4.1 25,
  gpt-4.1-mini 5, gpt-4.1-nano 1.50). Regional (data-resident) training costs more. Treat them
  as defaults: the settings may override the price per model, and the estimate is labelled an
  estimate wherever it is shown.
- Tokenizers: tiktoken's own model map (`tiktoken.model.encoding_name_for_model`). Only the
  o200k_base ranks ship with Tunedrop (`shared/tokenizer/`, no network at run time), so only
  models whose encoding is o200k_base, or o200k_harmony (gpt-oss: the same ranks and split
  pattern, more special tokens, which ordinary encoding never emits), are counted exactly.
  gpt-35-turbo (cl100k_base) is refused rather than miscounted; it is retired anyway.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from tiktoken.model import encoding_name_for_model

from shared.errors import InvalidInput


@dataclass(frozen=True)
class BaseModel:
    """A model Tunedrop may fine-tune, with the limits and prices it applies."""

    name: str
    """Azure model name with version, e.g. "gpt-4o-2024-08-06"."""
    max_example_tokens: int | None
    """Longest training example (all its messages, in tokens) the service accepts; None when
    Tunedrop does not know it (the service then checks)."""
    training_usd_per_million_tokens: float | None
    """Default training price (the settings may override it); None: unknown."""
    hosting_usd_per_hour: float | None
    """Hourly price of a deployed fine-tuned model (Standard deployment); None: unknown."""
    known: bool = True
    """False for a model this table does not list (its cost estimate is unknown)."""


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
        )
    }
)

# The models table of the docs checked on 2026-12-06 lists no OpenAI model a new customer can
# train with supervised fine-tuning (see the README's Models section); gpt-oss-20b is an open
# model with SFT and Global training on Foundry (AIServices) accounts, counted exactly with o200k.
DEFAULT_MODEL = "gpt-oss-20b"
# The model whose limits and price `validate_dataset` applies when the caller names none: a
# priced row (existing customers can still train it until 2027-04-01), so the library's own
# figures stay complete. The app and the CLI pass their model explicitly.
REFERENCE_MODEL = "gpt-4o-mini-2024-07-18"

# Encodings whose ordinary (no special tokens) encoding is o200k_base's, the data shipped here.
EXACT_ENCODINGS = frozenset({"o200k_base", "o200k_harmony"})
# A fine-tuned model id: "<base>.ft-<job id>" (Azure), optionally with a suffix after the job.
_FINE_TUNED = re.compile(r"^(?P<base>.+?)\.ft-(?P<job>[A-Za-z0-9_-]+)$")
MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$")


def base_of(model_id: str) -> str:
    """The base model of `model_id`: itself for a base model, `<base>` for `<base>.ft-<job>`."""
    found = _FINE_TUNED.match(model_id)
    return found.group("base") if found else model_id


def is_fine_tuned(model_id: str) -> bool:
    return _FINE_TUNED.match(model_id) is not None


def encoding_name(model_id: str) -> str | None:
    """tiktoken's encoding for the model's family (of its base); None when tiktoken has none."""
    try:
        return encoding_name_for_model(base_of(model_id))
    except KeyError:
        return None


def uncountable_reason(model_id: str) -> str | None:
    """Why Tunedrop cannot count `model_id`'s tokens exactly, or None when it can."""
    encoding = encoding_name(model_id)
    if encoding in EXACT_ENCODINGS:
        return None
    family = f"uses {encoding}" if encoding else "has a tokenizer tiktoken does not know"
    return (
        f'"{model_id}" {family}; Tunedrop counts tokens exactly only for o200k_base models '
        "(gpt-4o, gpt-4.1, gpt-5, o-series, gpt-oss families and models fine-tuned from them)"
    )


def base_model(name: str) -> BaseModel:
    """The rules for `name`: its base's row, or an unknown-cost row for a model the table does
    not list. Raises `InvalidInput` for a model whose tokens cannot be counted exactly."""
    reason = uncountable_reason(name) if MODEL_ID.match(name) else f'"{name}" is not a model id'
    if reason is not None:
        raise InvalidInput(f"{reason}.")
    known = BASE_MODELS.get(base_of(name))
    if known is not None:
        return BaseModel(
            name, known.max_example_tokens, known.training_usd_per_million_tokens,
            known.hosting_usd_per_hour,
        )  # fmt: skip
    return BaseModel(name, None, None, None, known=False)


def estimate_training_cost_usd(
    model: BaseModel, billable_tokens: int, price_override: float | None = None
) -> float | None:
    """Training cost in USD of `billable_tokens` (tokens x epochs); not rounded; None when the
    price is unknown.

    `price_override` is a price per million tokens from the settings; None uses the table's.
    """
    price = model.training_usd_per_million_tokens if price_override is None else price_override
    return None if price is None else billable_tokens * price / 1_000_000
