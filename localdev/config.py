"""Local settings for the dev host: `local.settings.json` as `func start` reads it."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from localdev.azurite import REPO_ROOT, AzuritePorts


def load_local_settings(root: Path = REPO_ROOT) -> dict[str, str]:
    """`Values` of local.settings.json (or the example when there is none), under the process
    environment, which wins so that one setting can be changed for one run."""
    path = root / "local.settings.json"
    if not path.exists():
        path = root / "local.settings.example.json"
    values = json.loads(path.read_text(encoding="utf-8")).get("Values", {})
    merged = {name: str(value) for name, value in values.items()}
    merged.update({k: v for k, v in os.environ.items() if k in merged or k.startswith("LOCALDEV_")})
    return merged


@dataclass(frozen=True)
class LocalPorts:
    host: int
    azurite: AzuritePorts
    emulator: int
    emulator_arm: int

    @classmethod
    def from_settings(cls, values: Mapping[str, str]) -> LocalPorts:
        def port(name: str, default: int) -> int:
            return int(values.get(name) or default)

        return cls(
            host=port("LOCALDEV_HOST_PORT", 7071),
            azurite=AzuritePorts(
                blob=port("LOCALDEV_AZURITE_BLOB_PORT", 10000),
                queue=port("LOCALDEV_AZURITE_QUEUE_PORT", 10001),
                table=port("LOCALDEV_AZURITE_TABLE_PORT", 10002),
            ),
            emulator=port("LOCALDEV_EMULATOR_PORT", 8181),
            emulator_arm=port("LOCALDEV_EMULATOR_ARM_PORT", 8182),
        )
