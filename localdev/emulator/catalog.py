"""The models the emulated account offers, read from a dated catalog file (`catalog.json`).

Each model has its data-plane `id`, its ARM (`arm_format`, `arm_name`, `version`), and the dates
the docs give: when its fine-tuning retires, when the base model retires, and when deployments
of models fine-tuned from it retire. The emulator measures them against its own clock, so a test
that moves the clock past a date sees the account refuse what the real one would.
A test may pass its own file (`running_emulator(catalog=...)`), e.g. one where the default
model is retired.

The calendar is replayed from today: every date moves forward by the days since the file's
`checked_on` (`Catalog.shift_days`), so the emulated account offers today what the real one
offered the day the catalog was checked, and a clone's tests meet the same account next year as
today (without it, the whole suite would fail once gpt-4o-mini's fine-tuning retires on the
real calendar). What the emulator answers and compares are the moved dates; `Catalog.day` gives
the moved date of a day the docs name. Check the docs again and move `checked_on` to see the
account as it is then.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

CATALOG_FILE = Path(__file__).resolve().parent / "catalog.json"


@dataclass(frozen=True)
class BaseModel:
    """A base model: `id` on the data plane, (`arm_name`, `version`) in ARM deployments."""

    id: str
    arm_name: str
    version: str
    fine_tunable: bool
    created_at: int
    inference_retires_at: int | None
    fine_tune_retires_at: int | None
    arm_format: str = "OpenAI"
    lifecycle_status: str = "generally-available"
    tuned_retires_at: int | None = None
    """When deployments of models fine-tuned from this one stop answering."""

    def fine_tunable_at(self, now: float) -> bool:
        return self.fine_tunable and not _past(self.fine_tune_retires_at, now)

    def retired_at(self, now: float) -> bool:
        """True once the base model itself no longer serves (or deploys)."""
        return _past(self.inference_retires_at, now)


@dataclass(frozen=True)
class Catalog:
    """The models of one emulated account, and where they came from."""

    models: tuple[BaseModel, ...]
    checked_on: str = ""
    shift_days: int = 0
    """How far every date of the file was moved: the days from `checked_on` to the load."""

    @classmethod
    def load(cls, path: Path = CATALOG_FILE, today: date | None = None) -> Catalog:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        checked_on = str(data.get("checked_on", ""))
        shift = _days_since(checked_on, today or datetime.now(UTC).date())
        models = tuple(_model(item, shift) for item in data["models"])
        return cls(models, checked_on, shift)

    def day(self, text: str) -> str:
        """The moved date (YYYY-MM-DD) of a day the file names, as the account shows it."""
        moved = datetime.strptime(text, "%Y-%m-%d").date() + timedelta(days=self.shift_days)
        return moved.isoformat()

    def unix(self, text: str) -> int:
        """The moved date of a day the file names, as unix time (midnight UTC)."""
        return _unix(self.day(text)) or 0

    def base_model(self, model_id: str) -> BaseModel | None:
        return next((m for m in self.models if m.id == model_id), None)

    def base_model_for_arm(self, name: str, version: str | None) -> BaseModel | None:
        """The base model an ARM deployment names; no version means the newest of that name."""
        candidates = [m for m in self.models if m.arm_name == name]
        if version:
            candidates = [m for m in candidates if m.version == version]
        return max(candidates, key=lambda m: m.created_at, default=None)

    def base_of_tuned(self, model_id: str) -> BaseModel | None:
        """The base model of a fine-tuned id `<base>.ft-<job>[-<suffix>]`."""
        base, marker, _ = model_id.partition(".ft-")
        return self.base_model(base) if marker else None


DEFAULT_BASE_DEPLOYMENTS = {
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4o": "gpt-4o-2024-08-06",
}

# ARM SKUs a deployment may use, and the capacity (thousands of tokens per minute) the
# emulated subscription's quota allows per deployment.
DEPLOYMENT_SKUS = ("Standard", "GlobalStandard", "DataZoneStandard", "DeveloperTier")
CAPACITY_QUOTA = 1000


def base_model(model_id: str) -> BaseModel | None:
    """A base model of the default catalog (the emulator's state has its own `catalog`)."""
    return DEFAULT_CATALOG.base_model(model_id)


def base_model_for_arm(name: str, version: str | None) -> BaseModel | None:
    return DEFAULT_CATALOG.base_model_for_arm(name, version)


def _model(item: dict[str, Any], shift_days: int) -> BaseModel:
    def moved(day: str | None) -> int | None:
        when = _unix(day)
        return None if when is None else when + shift_days * DAY_SECONDS

    return BaseModel(
        id=item["id"],
        arm_name=item["arm_name"],
        version=item["version"],
        fine_tunable=bool(item["fine_tune"]),
        created_at=moved(item["created"]) or 0,
        inference_retires_at=moved(item.get("retires")),
        fine_tune_retires_at=moved(item.get("fine_tune_retires")),
        arm_format=item.get("arm_format", "OpenAI"),
        lifecycle_status=item.get("lifecycle", "generally-available"),
        tuned_retires_at=moved(item.get("fine_tuned_retires")),
    )


DAY_SECONDS = 24 * 3600


def _days_since(checked_on: str, today: date) -> int:
    """Whole days from `checked_on` to `today`; 0 for a file without the date (or one ahead)."""
    if not checked_on:
        return 0
    checked = datetime.strptime(checked_on, "%Y-%m-%d").date()
    return max(0, (today - checked).days)


def _unix(day: str | None) -> int | None:
    if not day:
        return None
    return int(datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC).timestamp())


def _past(when: int | None, now: float) -> bool:
    return when is not None and now >= when


DEFAULT_CATALOG = Catalog.load()
BASE_MODELS: tuple[BaseModel, ...] = DEFAULT_CATALOG.models
