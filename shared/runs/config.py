"""run.json: the optional settings of a run, parsed and checked with every problem named.

    {
      "model": "gpt-4o-mini-2024-07-18",      base model (default: the DEFAULT_MODEL setting)
      "suffix": "support-bot",                added to the fine-tuned model name (default: run name)
      "hyperparameters": {
        "n_epochs": 3,                        1-50 or "auto" (default "auto")
        "batch_size": 8,                      1-256 or "auto" (default "auto")
        "learning_rate_multiplier": 0.5       0 < x <= 10 or "auto" (default "auto")
      },
      "seed": 42,                             0-2147483647 (default: the service picks)
      "deploy": {
        "enabled": true,                      deploy the model when training succeeds
        "name": "support-bot",                deployment name (default "tunedrop-<run>")
        "sku": "Standard",                    Standard, GlobalStandard or DeveloperTier
        "capacity": 1,                        1-1000 (default: the DEPLOY_CAPACITY setting)
        "ttl_hours": 24,                      0 < x <= 8760: Tunedrop deletes it afterwards
        "checkpoint": "final"                 "final", or "best": the kept checkpoint with the
      },                                      lowest validation loss
      "evaluate": true,                       evaluate the deployed model (shared.evaluation)
      "improve": {"auto": true, "max_usd": 5}, improve it with no hands (shared.runs.improve_config)
      "from_run": "support-bot-v1",           continuous fine-tuning: start from that run's
                                              fine-tuned model instead of "model"
      "training_type": "standard"             standard, global or developer: the service's
    }                                         trainingType (default: DEFAULT_TRAINING_TYPE)

"auto" leaves the choice to the service (the field is not sent).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from shared.errors import InvalidRunConfig
from shared.models import MODEL_ID, uncountable_reason
from shared.runs.improve_config import ImproveConfig, parse_improve
from shared.runs.names import RUN_NAME

MAX_CONFIG_BYTES = 64 * 1024
AUTO = "auto"
SKUS = ("Standard", "GlobalStandard", "DeveloperTier")
CHECKPOINTS = ("final", "best")
# The job suffix: a-z A-Z 0-9 - _ only, up to 40 (the fine-tuning jobs REST reference and SDK).
SUFFIX = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
DEVELOPER_TIER_HOURS = 24.0
"""A DeveloperTier deployment is deleted by the service after a fixed 24 hours."""
TRAINING_TYPES = ("standard", "global", "developer")
DEPLOYMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")
MAX_SEED = 2**31 - 1
ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")  # shared.accounts.NAME

HYPERPARAMETERS = ("n_epochs", "batch_size", "learning_rate_multiplier")

Auto = Literal["auto"]


@dataclass(frozen=True)
class RunDefaults:
    """What a run uses for each field its run.json leaves out (from the app settings)."""

    model: str
    deploy_sku: str = "Standard"
    deploy_capacity: int = 1
    ttl_hours: float = 24.0
    training_type: str = "standard"


@dataclass(frozen=True)
class DeployConfig:
    enabled: bool = True
    name: str | None = None
    sku: str = "Standard"
    capacity: int = 1
    ttl_hours: float = 24.0
    checkpoint: str = "final"
    """Which model to deploy: "final", or "best" (the kept checkpoint of lowest validation loss)."""


@dataclass(frozen=True)
class RunConfig:
    """A run's resolved settings: run.json over the app's defaults."""

    model: str
    suffix: str | None = None
    n_epochs: int | Auto = AUTO
    batch_size: int | Auto = AUTO
    learning_rate_multiplier: float | Auto = AUTO
    seed: int | None = None
    deploy: DeployConfig = field(default_factory=DeployConfig)
    evaluate: bool = True
    improve: ImproveConfig = field(default_factory=ImproveConfig)
    from_run: str | None = None
    """Continuous fine-tuning: the run whose fine-tuned model this run trains further."""
    training_type: str = "standard"
    """standard, global or developer: sent as the service's `trainingType`."""
    account: str | None = None
    """The pool account the run must train on (AZURE_OPENAI_ACCOUNTS); None: placed by room."""

    def hyperparameters(self) -> dict[str, int | float]:
        """The hyperparameters to send: those not left to the service ("auto")."""
        chosen = {
            "n_epochs": self.n_epochs,
            "batch_size": self.batch_size,
            "learning_rate_multiplier": self.learning_rate_multiplier,
        }
        return {key: value for key, value in chosen.items() if value != AUTO}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunConfig:
        values = dict(data)
        values["deploy"] = DeployConfig(**values.get("deploy", {}))
        values["improve"] = ImproveConfig(**(values.get("improve") or {}))
        return cls(**values)


def default_config(defaults: RunDefaults) -> RunConfig:
    """The configuration of a run that has no run.json."""
    return RunConfig(
        model=defaults.model,
        deploy=DeployConfig(
            sku=defaults.deploy_sku,
            capacity=defaults.deploy_capacity,
            ttl_hours=defaults.ttl_hours,
        ),
        training_type=defaults.training_type,
    )


def parse_run_config(raw: bytes, defaults: RunDefaults) -> RunConfig:
    """Parses run.json; raises `InvalidRunConfig` listing every problem, each naming its field."""
    if len(raw) > MAX_CONFIG_BYTES:
        raise InvalidRunConfig([f"run.json is over the limit of {MAX_CONFIG_BYTES} bytes"])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidRunConfig([f"run.json is not UTF-8 (byte {exc.start})"]) from None
    duplicates: list[str] = []
    try:
        data = json.loads(text, object_pairs_hook=_collecting_duplicates(duplicates))
    except json.JSONDecodeError as exc:
        raise InvalidRunConfig(
            [f"run.json is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"]
        ) from None
    except ValueError:
        # json raises a plain ValueError for an integer past Python's digit limit.
        raise InvalidRunConfig(["run.json holds a number with too many digits"]) from None
    except RecursionError:
        raise InvalidRunConfig(["run.json is nested too deeply to be a run configuration"]) from (
            None
        )
    if not isinstance(data, dict):
        raise InvalidRunConfig(["run.json must hold a JSON object"])
    reader = _Reader()
    reader.problems.extend(f'run.json: "{key}" appears more than once' for key in duplicates)
    config = reader.config(data, defaults)
    if reader.problems:
        raise InvalidRunConfig(reader.problems)
    return config


def parse_deploy_options(data: Mapping[str, Any], base: DeployConfig) -> DeployConfig:
    """Checks deploy options sent with a deploy request (`name`, `sku`, `capacity`,
    `ttl_hours`) over the run's own; raises `InvalidRunConfig` naming every bad one."""
    reader = _Reader()
    if not isinstance(data, Mapping):
        raise InvalidRunConfig(["the deploy options must be a JSON object"])
    merged = {"name": base.name, "sku": base.sku, "capacity": base.capacity}
    merged |= {"ttl_hours": base.ttl_hours, "checkpoint": base.checkpoint}
    merged |= {**data, "enabled": True}
    defaults = RunDefaults("", base.sku, base.capacity, base.ttl_hours)
    options = reader.deploy(merged, defaults)
    if reader.problems:
        raise InvalidRunConfig([problem.replace("run.json: ", "") for problem in reader.problems])
    return options


def config_warnings(config: RunConfig) -> list[str]:
    """What a valid run.json may still get wrong, each naming its field."""
    warnings = []
    deploy = config.deploy
    if deploy.enabled and deploy.sku == "DeveloperTier" and deploy.ttl_hours > DEVELOPER_TIER_HOURS:
        warnings.append(
            f'run.json: "deploy.ttl_hours" is {deploy.ttl_hours:g}, but a DeveloperTier '
            "deployment is deleted by the service after 24 hours (it has no hosting fee and no "
            "SLA); the model stays and can be deployed again"
        )
    return warnings


def _collecting_duplicates(duplicates: list[str]) -> Any:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, value in pairs:
            if key in seen:
                duplicates.append(key)
            seen[key] = value
        return seen

    return hook


class _Reader:
    """Reads run.json fields while collecting every problem."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, path: str, rule: str) -> None:
        # A key may hold an unpaired surrogate; escaped, the problem can still be written as UTF-8.
        printable = path.encode("utf-8", "backslashreplace").decode("utf-8")
        self.problems.append(f'run.json: "{printable}" {rule}')

    def config(self, data: dict[str, Any], defaults: RunDefaults) -> RunConfig:
        top = {
            "model", "suffix", "hyperparameters", "seed", "deploy", "evaluate", "improve",
            "from_run", "training_type", "account",
        }  # fmt: skip
        self.unknown(data, "", top)
        # Whether the account can fine-tune the model is its own answer, asked when the run
        # starts (shared.pipeline.model_admission); here only what Tunedrop itself needs.
        model = data.get("model", defaults.model)
        if not isinstance(model, str) or not MODEL_ID.match(model):
            self.problem("model", "must be a model id such as gpt-4.1-mini-2025-04-14")
            model = defaults.model
        elif (reason := uncountable_reason(model)) is not None:
            self.problem("model", f"cannot be counted exactly: {reason}")
            model = defaults.model
        from_run = data.get("from_run")
        if from_run is not None and (not isinstance(from_run, str) or not RUN_NAME.match(from_run)):
            self.problem("from_run", "must be the name of an earlier run (its folder name)")
            from_run = None
        suffix = data.get("suffix")
        if suffix is not None and (not isinstance(suffix, str) or not SUFFIX.match(suffix)):
            self.problem("suffix", "must be 1 to 40 letters, digits, '_' or '-'")
            suffix = None
        hyper = self.section(data, "hyperparameters")
        self.unknown(hyper, "hyperparameters.", set(HYPERPARAMETERS))
        n_epochs = self.integer_or_auto(hyper, "hyperparameters.n_epochs", 1, 50)
        batch_size = self.integer_or_auto(hyper, "hyperparameters.batch_size", 1, 256)
        rate = hyper.get("learning_rate_multiplier", AUTO)
        if rate != AUTO and not (_is_number(rate) and 0 < rate <= 10):
            self.problem(
                "hyperparameters.learning_rate_multiplier",
                'must be a number greater than 0 and at most 10, or "auto"',
            )
            rate = AUTO
        seed = data.get("seed")
        if seed is not None and not (_is_integer(seed) and 0 <= seed <= MAX_SEED):
            self.problem("seed", f"must be an integer from 0 to {MAX_SEED}")
            seed = None
        evaluate = data.get("evaluate", True)
        if not isinstance(evaluate, bool):
            self.problem("evaluate", "must be true or false")
            evaluate = True
        training_type = data.get("training_type", defaults.training_type)
        if training_type not in TRAINING_TYPES:
            self.problem("training_type", f"must be one of {', '.join(TRAINING_TYPES)}")
            training_type = defaults.training_type
        account = data.get("account")
        if account is not None and (
            not isinstance(account, str) or not ACCOUNT_NAME.match(account)
        ):
            self.problem("account", "must be the name of an account of AZURE_OPENAI_ACCOUNTS")
            account = None
        return RunConfig(
            model=model,
            suffix=suffix,
            n_epochs=n_epochs,
            batch_size=batch_size,
            learning_rate_multiplier=rate,
            seed=seed,
            deploy=self.deploy(self.section(data, "deploy"), defaults),
            evaluate=evaluate,
            improve=parse_improve(self.section(data, "improve"), self.problem),
            from_run=from_run,
            training_type=training_type,
            account=account,
        )

    def deploy(self, data: dict[str, Any], defaults: RunDefaults) -> DeployConfig:
        known = {"enabled", "name", "sku", "capacity", "ttl_hours", "checkpoint"}
        self.unknown(data, "deploy.", known)
        enabled = data.get("enabled", True)
        if not isinstance(enabled, bool):
            self.problem("deploy.enabled", "must be true or false")
            enabled = True
        name = data.get("name")
        if name is not None and (not isinstance(name, str) or not DEPLOYMENT_NAME.match(name)):
            self.problem(
                "deploy.name",
                "must be 2 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit",
            )
            name = None
        sku = data.get("sku", defaults.deploy_sku)
        if sku not in SKUS:
            self.problem("deploy.sku", f"must be one of {', '.join(SKUS)}")
            sku = defaults.deploy_sku
        capacity = data.get("capacity", defaults.deploy_capacity)
        if not (_is_integer(capacity) and 1 <= capacity <= 1000):
            self.problem("deploy.capacity", "must be an integer from 1 to 1000")
            capacity = defaults.deploy_capacity
        ttl = data.get("ttl_hours", defaults.ttl_hours)
        if not (_is_number(ttl) and 0 < ttl <= 8760):
            self.problem("deploy.ttl_hours", "must be a number of hours above 0, at most 8760")
            ttl = defaults.ttl_hours
        checkpoint = data.get("checkpoint", "final")
        if checkpoint not in CHECKPOINTS:
            self.problem(
                "deploy.checkpoint",
                'must be "final" (the model the job ended with) or "best" (the kept checkpoint '
                "with the lowest validation loss)",
            )
            checkpoint = "final"
        return DeployConfig(enabled, name, sku, capacity, float(ttl), checkpoint)

    def section(self, data: dict[str, Any], key: str) -> dict[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            self.problem(key, "must be an object")
            return {}
        return value

    def unknown(self, data: dict[str, Any], prefix: str, known: set[str]) -> None:
        for key in data:
            if key not in known:
                allowed = ", ".join(sorted(known))
                self.problem(f"{prefix}{key}", f"is not a run.json field (allowed: {allowed})")

    def integer_or_auto(self, data: dict[str, Any], path: str, low: int, high: int) -> int | Auto:
        value = data.get(path.rpartition(".")[2], AUTO)
        if value == AUTO:
            return AUTO
        if _is_integer(value) and low <= value <= high:
            return value
        self.problem(path, f'must be an integer from {low} to {high} or "auto"')
        return AUTO


def _is_integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value
