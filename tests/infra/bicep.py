"""infra/*.bicep as pycep-parser reads it, and the few lookups the infrastructure tests make.

pycep reads literals faithfully but gets operator precedence wrong, so tests look only at literal
keys and values (names, types, property values, variable values), never at evaluated expressions.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from pycep import BicepParser

from localdev.azurite import REPO_ROOT

INFRA = REPO_ROOT / "infra"


def bicep_files() -> list[Path]:
    return sorted(INFRA.rglob("*.bicep"))


@cache
def parsed(path: Path) -> dict[str, Any]:
    return BicepParser().parse(file_path=path)


def resources(type_: str) -> list[tuple[Path, str, dict[str, Any]]]:
    """Every declared (not `existing`) resource of a type: (file, symbolic name, its tree)."""
    found = []
    for path in bicep_files():
        for name, resource in (parsed(path).get("resources") or {}).items():
            if resource["type"] == type_ and not resource["existing"]:
                found.append((path, name, resource))
    return found


def the_resource(type_: str) -> dict[str, Any]:
    found = resources(type_)
    assert len(found) == 1, f"expected one {type_}, found {[name for _, name, _ in found]}"
    return found[0][2]["config"]


def app_settings() -> dict[str, Any]:
    """The Function App's app settings as Bicep sets them (key -> value tree)."""
    configs = [
        r
        for _, _, r in resources("Microsoft.Web/sites/config")
        if r["config"]["name"] == "appsettings"
    ]
    assert len(configs) == 1, "the Function App's settings must be one sites/config 'appsettings'"
    return dict(configs[0]["config"]["properties"])


def keys_anywhere(tree: Any) -> set[str]:
    """Every object key in a tree, at any depth."""
    if isinstance(tree, dict):
        return set(tree) | {k for value in tree.values() for k in keys_anywhere(value)}
    if isinstance(tree, list):
        return {k for value in tree for k in keys_anywhere(value)}
    return set()
