"""A pool of emulated Azure OpenAI accounts: the app settings that point Tunedrop at them.

    account_name(index)                    the i-th emulated account's name (the first keeps
                                           the emulator's default, so one account is as before)
    pool_settings(emulators, state_dir)    AZURE_OPENAI_ACCOUNTS for the running emulators, and
                                           one ARM_CA_BUNDLE trusting each emulator's own CA

Each emulator is its own process (or in-process server for tests) with its own endpoint,
ARM port, account name and the limits of LOCALDEV_EMULATOR_LIMITS.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from localdev.emulator.emulator import DEFAULT_ACCOUNT_NAME

ACCOUNTS_VARIABLE = "LOCALDEV_EMULATOR_ACCOUNTS"


def account_name(index: int) -> str:
    return DEFAULT_ACCOUNT_NAME if index == 0 else f"{DEFAULT_ACCOUNT_NAME}-{index + 1}"


def account_count(values: Mapping[str, str]) -> int:
    """LOCALDEV_EMULATOR_ACCOUNTS: how many emulated accounts (default one)."""
    raw = values.get(ACCOUNTS_VARIABLE, "").strip() or "1"
    if not raw.isdigit() or not 1 <= int(raw) <= 30:
        raise ValueError(f"{ACCOUNTS_VARIABLE} must be a whole number from 1 to 30, not {raw!r}")
    return int(raw)


def pool_entry(emulator: Any, limits: Mapping[str, int] | None = None) -> dict[str, Any]:
    """One AZURE_OPENAI_ACCOUNTS entry for a running emulator."""
    entry: dict[str, Any] = {
        "name": emulator.account_name,
        "endpoint": emulator.url,
        "arm_endpoint": emulator.arm_url,
        "subscription": emulator.subscription_id,
        "resource_group": emulator.resource_group,
        "account": emulator.account_name,
        "region": "local",
    }
    if limits:
        entry["limits"] = dict(limits)
    return entry


def pool_settings(
    emulators: Sequence[Any], state_dir: Path, limits: Mapping[str, int] | None = None
) -> dict[str, str]:
    """AZURE_OPENAI_ACCOUNTS for `emulators` (each with `limits`, when given) and the one CA
    bundle ARM calls trust (each emulator serves ARM with a CA of its own)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    bundle = state_dir / "emulators-ca.pem"
    bundle.write_bytes(b"".join(Path(item.ca_cert_path).read_bytes() for item in emulators))
    return {
        "AZURE_OPENAI_ACCOUNTS": json.dumps([pool_entry(item, limits) for item in emulators]),
        "ARM_CA_BUNDLE": str(bundle),
    }


def link_accounts(emulators: Sequence[Any]) -> None:
    """Lets each emulated account deploy the others' fine-tuned models (cross-region
    deployment, `localdev/emulator/peers.py`): in-process emulators directly, running ones
    (`EmulatorEndpoints`) through `PUT /_emulator/peers`."""
    arm_ids = {
        f"/subscriptions/{item.subscription_id}/resourceGroups/{item.resource_group}"
        f"/providers/Microsoft.CognitiveServices/accounts/{item.account_name}": item.url
        for item in emulators
    }
    for item in emulators:
        if hasattr(item, "set_peers"):
            item.set_peers(arm_ids)
            continue
        request = urllib.request.Request(
            f"{item.url}/_emulator/peers",
            data=json.dumps(arm_ids).encode(),
            method="PUT",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10):
            pass
