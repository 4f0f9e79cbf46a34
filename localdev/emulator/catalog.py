"""The base models the emulated account offers, by data-plane id and by ARM name + version."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BaseModel:
    """A base model: `id` on the data plane, (`arm_name`, `version`) in ARM deployments."""

    id: str
    arm_name: str
    version: str
    fine_tunable: bool
    created_at: int
    inference_retires_at: int
    fine_tune_retires_at: int


# Unix times: 2024-07-18, 2024-08-06, 2025-04-14, 2024-01-25; retirements set well ahead.
_RETIRE_LATE = 1893456000  # 2030-01-01
_RETIRE_FT = 1861920000  # 2029-01-01
BASE_MODELS: tuple[BaseModel, ...] = (
    BaseModel("gpt-4o-mini-2024-07-18", "gpt-4o-mini", "2024-07-18", True, 1721260800,
              _RETIRE_LATE, _RETIRE_FT),
    BaseModel("gpt-4o-2024-08-06", "gpt-4o", "2024-08-06", True, 1722902400,
              _RETIRE_LATE, _RETIRE_FT),
    BaseModel("gpt-4.1-2025-04-14", "gpt-4.1", "2025-04-14", True, 1744588800,
              _RETIRE_LATE, _RETIRE_FT),
    BaseModel("gpt-4.1-mini-2025-04-14", "gpt-4.1-mini", "2025-04-14", True, 1744588800,
              _RETIRE_LATE, _RETIRE_FT),
    BaseModel("gpt-4.1-nano-2025-04-14", "gpt-4.1-nano", "2025-04-14", True, 1744588800,
              _RETIRE_LATE, _RETIRE_FT),
    BaseModel("gpt-35-turbo-0125", "gpt-35-turbo", "0125", True, 1706140800,
              _RETIRE_LATE, _RETIRE_FT),
)  # fmt: skip

DEFAULT_BASE_DEPLOYMENTS = {
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4o": "gpt-4o-2024-08-06",
}

# ARM SKUs a deployment may use, and the capacity (thousands of tokens per minute) the
# emulated subscription's quota allows per deployment.
DEPLOYMENT_SKUS = ("Standard", "GlobalStandard", "DataZoneStandard", "DeveloperTier")
CAPACITY_QUOTA = 1000


def base_model(model_id: str) -> BaseModel | None:
    return next((m for m in BASE_MODELS if m.id == model_id), None)


def base_model_for_arm(name: str, version: str | None) -> BaseModel | None:
    """The base model an ARM deployment names; no version means the newest one of that name."""
    candidates = [m for m in BASE_MODELS if m.arm_name == name]
    if version:
        candidates = [m for m in candidates if m.version == version]
    return max(candidates, key=lambda m: m.created_at, default=None)
