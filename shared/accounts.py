"""The pool of Azure OpenAI accounts Tunedrop trains and deploys on (`AZURE_OPENAI_ACCOUNTS`).

A pure parser, no I/O. The setting is a JSON list; each entry names one account:

    {"name": "east-1", "endpoint": "https://east-1.openai.azure.com",
     "subscription": "<id>", "resource_group": "rg", "account": "east-1", "region": "eastus2",
     "models": {"gpt-4.1-mini": ["standard", "global"]},
     "limits": {"running_jobs": 3, "deployments": 10}}

`models` and `limits` are optional: without `models` the account is a candidate for every model
(its own model list still refuses one it cannot train), without `limits` the app-wide
`ACCOUNT_MAX_*` settings apply. Without the setting, today's single-account settings
(`AZURE_OPENAI_ENDPOINT`, `AZURE_SUBSCRIPTION_ID`, ...) are a pool of one named after the account.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from shared.runs.limits import AccountLimits

SETTING = "AZURE_OPENAI_ACCOUNTS"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
REQUIRED = ("name", "endpoint", "subscription", "resource_group", "account")
OPTIONAL_TEXT = ("region", "arm_endpoint")
TRAINING_TYPES = ("standard", "global", "developer")
LIMIT_NAMES = tuple(item.name for item in fields(AccountLimits))


@dataclass(frozen=True)
class AccountSpec:
    """One Azure OpenAI account of the pool."""

    name: str
    endpoint: str
    subscription: str
    resource_group: str
    account: str
    region: str = ""
    models: Mapping[str, tuple[str, ...]] | None = None
    """Base model -> training types it can fine-tune with; None: any model the account lists."""
    arm_endpoint: str = ""
    """Where ARM answers for this account; empty: ARM_ENDPOINT (the local emulators differ)."""
    limits: Mapping[str, int] = field(default_factory=dict)
    """The account's own limits (AccountLimits field -> value); the rest are the app-wide
    ACCOUNT_MAX_* settings."""

    def limits_over(self, app_limits: AccountLimits) -> AccountLimits:
        """The limits Tunedrop plans with on this account."""
        return replace(app_limits, **self.limits)

    def can_train(self, model: str, training_type: str) -> bool:
        """True when the pool entry says this account can fine-tune `model` this way."""
        if self.models is None:
            return True
        types = self.models.get(model)
        return types is not None and (not types or training_type in types)


def parse_accounts(raw: str, problems: list[str]) -> tuple[AccountSpec, ...]:
    """The accounts of `raw` (the setting's JSON). Every problem is appended to `problems`,
    naming the entry (index and name) and the field; a bad entry is left out."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        problems.append(f"{SETTING} is not valid JSON: {exc.msg} (line {exc.lineno})")
        return ()
    if not isinstance(data, list) or not data:
        problems.append(f"{SETTING} must be a non-empty JSON list of accounts")
        return ()
    accounts: list[AccountSpec] = []
    seen: set[str] = set()
    for index, entry in enumerate(data):
        account = _entry(index, entry, problems)
        if account is None:
            continue
        if account.name in seen:
            problems.append(f"{SETTING} entry {index} ({account.name!r}): name is used twice")
            continue
        seen.add(account.name)
        accounts.append(account)
    return tuple(accounts)


def single_account(
    endpoint: str, subscription: str, resource_group: str, account: str
) -> AccountSpec:
    """Today's single-account settings as a pool of one, named after the account."""
    return AccountSpec(account or "default", endpoint, subscription, resource_group, account)


def _entry(index: int, entry: Any, problems: list[str]) -> AccountSpec | None:
    if not isinstance(entry, dict):
        problems.append(f"{SETTING} entry {index} must be a JSON object")
        return None
    label = f"{SETTING} entry {index}"
    if isinstance(entry.get("name"), str) and entry["name"]:
        label += f" ({entry['name']!r})"
    before = len(problems)
    values: dict[str, str] = {}
    for key in (*REQUIRED, *OPTIONAL_TEXT):
        value = entry.get(key, "")
        if not isinstance(value, str) or (key in REQUIRED and not value.strip()):
            problems.append(f"{label}: {key} is missing or not a string")
            continue
        values[key] = value.strip()
    name = values.get("name", "")
    if name and not NAME.match(name):
        problems.append(f"{label}: name {name!r} must be letters, digits, '-', '_' or '.'")
    endpoint = values.get("endpoint", "")
    for key in ("endpoint", "arm_endpoint"):
        url = values.get(key, "")
        if url and not re.match(r"^https?://[^\s/]+", url):
            problems.append(f"{label}: {key} must be an http(s) URL, not {url!r}")
    unknown = sorted(set(entry) - {*REQUIRED, *OPTIONAL_TEXT, "models", "limits"})
    if unknown:
        problems.append(f"{label}: unknown field {unknown[0]!r}")
    models = _models(label, entry.get("models"), problems)
    limits = _limits(label, entry.get("limits"), problems)
    if len(problems) > before:
        return None
    return AccountSpec(
        name=name,
        endpoint=endpoint.rstrip("/"),
        subscription=values["subscription"],
        resource_group=values["resource_group"],
        account=values["account"],
        region=values.get("region", ""),
        arm_endpoint=values.get("arm_endpoint", "").rstrip("/"),
        models=models,
        limits=limits,
    )


def _models(label: str, raw: Any, problems: list[str]) -> Mapping[str, tuple[str, ...]] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        problems.append(f"{label}: models must be an object of model -> training types")
        return None
    models: dict[str, tuple[str, ...]] = {}
    for model, types in raw.items():
        if not isinstance(types, list) or any(t not in TRAINING_TYPES for t in types):
            problems.append(
                f"{label}: models.{model} must be a list of {', '.join(TRAINING_TYPES)}"
            )
            continue
        models[model] = tuple(types)
    return models


def _limits(label: str, raw: Any, problems: list[str]) -> dict[str, int]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(f"{label}: limits must be an object")
        return {}
    values: dict[str, int] = {}
    for key, value in raw.items():
        if key not in LIMIT_NAMES:
            problems.append(f"{label}: limits.{key} is not one of {', '.join(LIMIT_NAMES)}")
        elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
            problems.append(f"{label}: limits.{key} must be a whole number of at least 1")
        else:
            values[key] = value
    return values
