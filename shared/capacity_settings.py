"""The settings of sharing an Azure OpenAI account: the limits Tunedrop plans with, how long the
run's files stay on the service, and how often a deployment is read back.

Read from the environment by `Settings.from_env` like the rest; problems are collected, not
raised one by one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from shared.runs.limits import AccountLimits

FOREVER = "forever"
LIMIT_SETTINGS = {
    "ACCOUNT_MAX_RUNNING_JOBS": "running_jobs",
    "ACCOUNT_MAX_QUEUED_JOBS": "queued_jobs",
    "ACCOUNT_MAX_JOBS": "total_jobs",
    "ACCOUNT_MAX_DEPLOYMENTS": "deployments",
    "ACCOUNT_MAX_FILES": "files",
    "ACCOUNT_MAX_FILE_BYTES": "file_bytes",
}
TRAINING_TYPES = ("standard", "global", "developer")


@dataclass(frozen=True)
class CapacitySettings:
    limits: AccountLimits = field(default_factory=AccountLimits)
    keep_files_hours: float | None = 0.0
    """KEEP_SERVICE_FILES_HOURS: 0 deletes at once, "forever" (None) never."""
    deployment_check_minutes: float = 30.0
    training_type: str = "standard"
    """DEFAULT_TRAINING_TYPE: what a run.json without "training_type" trains as."""
    deploy_across_accounts: bool = False
    """DEPLOY_ACROSS_ACCOUNTS: when the training account has no free deployment slot, deploy
    the model on another account of the pool (`shared.runs.cross_account`)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str], problems: list[str]) -> CapacitySettings:
        limits = {
            attribute: _whole(environ, name, getattr(AccountLimits(), attribute), problems)
            for name, attribute in LIMIT_SETTINGS.items()
        }
        keep_raw = environ.get("KEEP_SERVICE_FILES_HOURS", "").strip().lower()
        keep: float | None = 0.0
        if keep_raw == FOREVER:
            keep = None
        elif keep_raw:
            keep = _number(keep_raw, "KEEP_SERVICE_FILES_HOURS", 0.0, problems, minimum=0.0)
        check_raw = environ.get("DEPLOYMENT_CHECK_MINUTES", "").strip()
        check = (
            _number(check_raw, "DEPLOYMENT_CHECK_MINUTES", 30.0, problems) if check_raw else 30.0
        )
        training_type = environ.get("DEFAULT_TRAINING_TYPE", "").strip().lower() or "standard"
        if training_type not in TRAINING_TYPES:
            problems.append(
                f"DEFAULT_TRAINING_TYPE must be one of {', '.join(TRAINING_TYPES)}, "
                f"not {training_type!r}"
            )
            training_type = "standard"
        across = _flag(environ, "DEPLOY_ACROSS_ACCOUNTS", problems)
        return cls(AccountLimits(**limits), keep, check, training_type, across)


def _flag(environ: Mapping[str, str], name: str, problems: list[str]) -> bool:
    raw = environ.get(name, "").strip().lower()
    if raw in ("", "false", "0"):
        return False
    if raw in ("true", "1"):
        return True
    problems.append(f"{name} must be true or false, not {raw!r}")
    return False


def _whole(environ: Mapping[str, str], name: str, default: int, problems: list[str]) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
        problems.append(f"{name} must be a whole number of at least 1, not {raw!r}")
        return default
    return int(raw)


def _number(
    raw: str, name: str, default: float, problems: list[str], minimum: float | None = None
) -> float:
    try:
        value = float(raw)
    except ValueError:
        problems.append(f"{name} must be a number, not {raw!r}")
        return default
    low_ok = value >= minimum if minimum is not None else value > 0
    if not low_ok or value != value or value == float("inf"):
        bound = f"at least {minimum:g}" if minimum is not None else "greater than 0"
        problems.append(f"{name} must be {bound}, not {raw!r}")
        return default
    return value
