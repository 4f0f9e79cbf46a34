"""Where the docs say each model can be fine-tuned with Standard (regional) training: the one copy
of that table in Tunedrop. infra/main.bicep's `@allowed` list for `openAiLocation` is the union of
these regions (tests/infra/test_preprovision.py compares them).

Sources, read on 2026-12-06 (check them again before trusting a date here):
- the supported fine-tuning models table, MicrosoftDocs/azure-ai-docs
  `articles/foundry/includes/fine-tune-supported-models.md` (ms.date 2026-03-05): models, their
  Standard regions and methods (SFT, DPO, RFT). Global and Developer training run in more regions;
  Tunedrop creates jobs without `trainingType`, which is Standard.
- the retirement schedule, same repository,
  `articles/foundry/openai/includes/concepts-model-retirement-schedule-content.md`
  (ms.date 2026-07-07): every model below is Deprecated, and for a new customer its training
  retires with the base model ("for existing customers only; otherwise training retirement
  occurs at base model retirement").

The table only names regions and explains refusals. Whether a model can be fine-tuned is ARM's
answer (`Models_List`), asked by the preprovision hook: a model the table does not know is
accepted when ARM offers it for fine-tuning, and one it knows is refused when ARM does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

DOCS_READ_ON = date(2026, 12, 6)
DEFAULT_OPENAI_LOCATION = "swedencentral"  # infra/main.bicep's default for openAiLocation


@dataclass(frozen=True)
class DocumentedModel:
    model: str
    """`<name>-<version>`, as Tunedrop's `DEFAULT_MODEL` and run.json name it."""
    standard_regions: tuple[str, ...]
    methods: tuple[str, ...]
    base_retires: date
    """Base model retirement; training for new customers ends then too."""


SUPERVISED_FINE_TUNING: tuple[DocumentedModel, ...] = (
    DocumentedModel(
        "gpt-4o-mini-2024-07-18", ("northcentralus", "swedencentral"), ("SFT",), date(2026, 10, 1)
    ),
    DocumentedModel(
        "gpt-4o-2024-08-06",
        ("eastus2", "northcentralus", "swedencentral"),
        ("SFT", "DPO"),
        date(2026, 10, 1),
    ),
    DocumentedModel(
        "gpt-4.1-2025-04-14",
        ("northcentralus", "swedencentral"),
        ("SFT", "DPO"),
        date(2026, 10, 14),
    ),
    DocumentedModel(
        "gpt-4.1-mini-2025-04-14",
        ("northcentralus", "swedencentral"),
        ("SFT", "DPO"),
        date(2026, 10, 14),
    ),
    DocumentedModel(
        "gpt-4.1-nano-2025-04-14",
        ("northcentralus", "swedencentral"),
        ("SFT", "DPO"),
        date(2026, 10, 14),
    ),
)


def documented(model: str) -> DocumentedModel | None:
    return next((m for m in SUPERVISED_FINE_TUNING if m.model == model), None)


def standard_fine_tuning_regions() -> tuple[str, ...]:
    """Every region where the docs list Standard supervised fine-tuning of some model."""
    return tuple(sorted({region for m in SUPERVISED_FINE_TUNING for region in m.standard_regions}))


def open_to_new_customers(on: date) -> tuple[str, ...]:
    """The documented models a new customer could still fine-tune on that day, per the docs."""
    return tuple(m.model for m in SUPERVISED_FINE_TUNING if on < m.base_retires)
