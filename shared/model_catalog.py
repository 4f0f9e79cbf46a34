"""What the account says about its models, and the decisions Tunedrop takes from it.

The account answers `GET /openai/models` (authoring API 2024-10-21, `Model`): per model whether
it can be fine-tuned now (`capabilities.fine_tune`), its `lifecycle_status`, and the unix times
its fine-tuning and its inference retire (`deprecation.fine_tune` / `.inference`). Retirement
dates move, so Tunedrop keeps no list of them: it asks (through `ModelCatalog`, cached) and
decides here. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

RETIREMENT_NOTICE = timedelta(days=30)
"""How long before a retirement Tunedrop warns."""


@dataclass(frozen=True)
class CatalogModel:
    """One model as the account describes it."""

    id: str
    fine_tunable: bool
    lifecycle_status: str | None = None
    fine_tune_retires_at: datetime | None = None
    inference_retires_at: datetime | None = None
    base: str | None = None
    """For a fine-tuned model, the model it was trained from (the API's `model` field)."""

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> CatalogModel:
        """From one `Model` of `GET /openai/models`; fields it lacks stay unknown."""
        capabilities = item.get("capabilities") or {}
        deprecation = item.get("deprecation") or {}
        return cls(
            id=str(item["id"]),
            fine_tunable=capabilities.get("fine_tune") is True,
            lifecycle_status=item.get("lifecycle_status"),
            fine_tune_retires_at=_when(deprecation.get("fine_tune")),
            inference_retires_at=_when(deprecation.get("inference")),
            base=item.get("model") if isinstance(item.get("model"), str) else None,
        )


class ModelCatalog(Protocol):
    """The account's models (the adapter caches them; see `shared.adapters.model_catalog`)."""

    def models(self, expecting: str | None = None) -> Sequence[CatalogModel]:
        """Every model the account lists; raises `TransientServiceError` when it cannot say.

        `expecting`: a model that may be newer than the cached list (one just fine-tuned): when
        the list lacks it, the account is asked again, once per model until the next read.
        """
        ...


@dataclass(frozen=True)
class Admission:
    """The account's verdict on training a model now: refused (with the reason) or admitted,
    with warnings."""

    refusal: str | None = None
    warnings: tuple[str, ...] = ()


def admit(model: str, catalog: Sequence[CatalogModel], now: datetime) -> Admission:
    """Whether this account can fine-tune `model` now, and what to warn about if so."""
    found = next((entry for entry in catalog if entry.id == model), None)
    if found is None or not found.fine_tunable:
        why = "does not list" if found is None else "lists, but cannot fine-tune now,"
        retired = _retired_note(found, now)
        return Admission(
            refusal=f"this Azure OpenAI account {why} the model {model!r}{retired}; "
            f"it can fine-tune: {fine_tunable_names(catalog)}. "
            'Name one as "model" in run.json.'
        )
    warnings = []
    retires = found.fine_tune_retires_at
    if retires is not None and now + RETIREMENT_NOTICE >= retires:
        warnings.append(
            f"fine-tuning of {model} retires on {retires:%Y-%m-%d} (the account says); "
            f"plan a move to another model: {fine_tunable_names(catalog, besides=model)}"
        )
    return Admission(warnings=tuple(warnings))


def inference_retirement_due(
    model: str, catalog: Sequence[CatalogModel], now: datetime
) -> datetime | None:
    """The date `model` stops answering, when that is within `RETIREMENT_NOTICE` of `now`."""
    found = next((entry for entry in catalog if entry.id == model), None)
    retires = found.inference_retires_at if found else None
    if retires is not None and now + RETIREMENT_NOTICE >= retires:
        return retires
    return None


def fine_tunable_names(catalog: Sequence[CatalogModel], besides: str | None = None) -> str:
    # Base models only: the account's own fine-tuned models would bury them.
    names = sorted(
        entry.id
        for entry in catalog
        if entry.fine_tunable and entry.base is None and entry.id != besides
    )
    return ", ".join(names) if names else "none (ask the account's administrator)"


def _retired_note(found: CatalogModel | None, now: datetime) -> str:
    # The account's clock decides `fine_tunable`; its date is named whichever side of it
    # Tunedrop's own clock is.
    if found is None or found.fine_tune_retires_at is None:
        return ""
    return f" (its fine-tuning retirement date: {found.fine_tune_retires_at:%Y-%m-%d})"


def _when(value: object) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value, UTC)
    return None
