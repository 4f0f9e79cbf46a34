"""The Function App's app settings in Bicep match what the code reads, both ways.

The settings the code reads are found by running `Settings.from_env` on a mapping that records
every name asked for, so a setting added to shared/settings.py is checked with no change here:
a required one must be set in infra/modules/functionapp.bicep, one with a default must be set
there or listed in the README's settings table. Binding expressions (`%NAME%`) and each
binding's `connection` are read by the host and must be set too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from localdev.azurite import REPO_ROOT
from shared.errors import SettingsError
from shared.settings import Settings

# The app can be indexed only once per process: reuse the index the binding tests made.
from tests.functions.test_bindings import FUNCTIONS
from tests.infra.bicep import app_settings

# Read by the Functions host itself, not by Tunedrop's code.
HOST_SETTINGS = {
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
}
# Flex Consumption refuses these (the runtime comes from functionAppConfig) or they would bring
# back keys: a storage connection string, an instrumentation key.
REFUSED = {
    "FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION", "WEBSITE_RUN_FROM_PACKAGE",
    "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING", "WEBSITE_CONTENTSHARE",
    "WEBSITE_NODE_DEFAULT_VERSION", "WEBSITE_USE_PLACEHOLDER_DOTNETISOLATED",
    "AzureWebJobsStorage", "APPINSIGHTS_INSTRUMENTATIONKEY", "AZURE_OPENAI_API_KEY",
    "TUNEDROP_LOCAL_BEARER_TOKEN", "ARM_CA_BUNDLE",
}  # fmt: skip
IDENTITY_FORMS = ("__credential", "__clientId", "__blobServiceUri", "__queueServiceUri")


class Recording(Mapping[str, str]):
    """An empty environment that remembers every name the code looked up."""

    def __init__(self) -> None:
        self.asked: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.asked.add(name)
        raise KeyError(name)

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        self.asked.add(name)
        return default

    def __contains__(self, name: object) -> bool:
        self.asked.add(str(name))
        return False

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def read_settings() -> tuple[set[str], set[str]]:
    """(every setting shared/settings.py reads, the ones it requires)."""
    environ = Recording()
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(environ)
    message = str(raised.value)
    required = {
        name for name in environ.asked if re.search(rf"\b{re.escape(name)} is missing", message)
    }
    return environ.asked, required


def bindings() -> list[dict[str, Any]]:
    return [b for f in FUNCTIONS.values() for b in json.loads(f.get_function_json())["bindings"]]


def binding_references() -> set[str]:
    found = set()
    for binding in bindings():
        for value in binding.values():
            found.update(re.findall(r"%([^%]+)%", str(value)))
    return found


def connections() -> set[str]:
    return {b["connection"] for b in bindings() if b.get("connection")}


def documented_in_readme() -> set[str]:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("## Settings", 1)[1].split("\n## ", 1)[0]
    return {
        name
        for line in table.splitlines()
        if line.startswith("| `")
        for name in re.findall(r"`([^`]+)`", line.split("|")[1])
    }


def test_every_setting_the_code_requires_is_set_in_bicep() -> None:
    _, required = read_settings()
    storage = {name for name in required if name.startswith("AzureWebJobsStorage")}
    missing = (required - storage) - set(app_settings())
    assert not missing, f"set these in infra/modules/functionapp.bicep's appsettings: {missing}"


def test_every_setting_with_a_default_is_set_in_bicep_or_documented() -> None:
    read, required = read_settings()
    undocumented = (read - required) - set(app_settings()) - documented_in_readme()
    undocumented = {n for n in undocumented if not n.startswith("AzureWebJobsStorage")}
    assert not undocumented, f"document these in the README's settings table: {undocumented}"


def test_bicep_sets_nothing_the_code_or_the_host_does_not_read() -> None:
    read, _ = read_settings()
    prefixes = tuple(f"{connection}__" for connection in connections())
    unread = {
        name for name in app_settings()
        if name not in read | binding_references() | HOST_SETTINGS and not name.startswith(prefixes)
    }  # fmt: skip
    assert not unread, f"nothing reads these app settings: {unread}"


def test_every_binding_expression_and_connection_is_set_in_bicep() -> None:
    settings = app_settings()
    assert binding_references() <= set(settings)
    for connection in connections():
        assert settings.get(f"{connection}__credential") == "managedidentity", connection
        for form in IDENTITY_FORMS:
            assert f"{connection}{form}" in settings, f"{connection}{form}"


def test_the_storage_identity_forms_the_code_reads_are_the_ones_bicep_sets() -> None:
    read, _ = read_settings()
    storage_in_bicep = {name for name in app_settings() if name.startswith("AzureWebJobsStorage")}
    assert storage_in_bicep <= read, "the app must honour every storage form Bicep sets"
    assert {"AzureWebJobsStorage__tableServiceUri", "AZURE_CLIENT_ID"} <= set(app_settings())


def test_no_setting_flex_consumption_refuses_or_that_carries_a_key() -> None:
    assert not set(app_settings()) & REFUSED
