"""azd's hooks install their own few packages, not the test tools, and say how to run on Windows."""

from __future__ import annotations

import ast
import re

import yaml

from localdev.azurite import REPO_ROOT

HOOKS = REPO_ROOT / "hooks"


def requirement_names() -> set[str]:
    lines = (HOOKS / "requirements.txt").read_text(encoding="utf-8").splitlines()
    return {
        re.split(r"[<>=\[ ;#]", line.strip())[0] for line in lines if line.strip()[:1].isalpha()
    }


def imported_distributions() -> set[str]:
    """The PyPI names of the azure packages hooks/*.py import (azure.core comes with them all)."""
    found = set()
    for path in HOOKS.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            for name in names:
                parts = name.split(".")
                if parts[0] == "azure" and len(parts) > 1 and parts[1] != "core":
                    found.add("-".join(parts[:3] if parts[1] == "mgmt" else parts[:2]))
    return found


def test_the_hooks_requirements_are_exactly_what_the_hooks_import() -> None:
    assert requirement_names() == imported_distributions()
    assert not requirement_names() & {
        "pytest",
        "hypothesis",
        "ruff",
        "schemathesis",
        "pycep-parser",
    }


def test_azure_yaml_runs_each_hook_through_dev_which_installs_only_the_hooks_packages() -> None:
    hooks = yaml.safe_load((REPO_ROOT / "azure.yaml").read_text())["hooks"]
    assert hooks["preprovision"]["posix"]["run"] == "./dev preprovision"
    assert hooks["postdeploy"]["posix"]["run"] == "./dev postdeploy"
    dev = (REPO_ROOT / "dev").read_text()
    branch = dev.split("  preprovision|postdeploy)", 1)[1].split(";;", 1)[0]
    assert "setup_hooks" in branch and "setup_python" not in branch and ".venv-hooks/" in branch
    setup = dev.split("setup_hooks() {", 1)[1].split("\n}", 1)[0]
    assert "-r hooks/requirements.txt" in setup and "requirements-dev" not in setup


def test_the_readme_tells_windows_users_to_run_azd_from_wsl() -> None:
    deploy = (
        (REPO_ROOT / "README.md").read_text().split("## Deploy to Azure", 1)[1].split("\n## ")[0]
    )
    assert "Windows" in deploy and "WSL" in deploy
