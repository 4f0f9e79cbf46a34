"""What `azd deploy` zips for the Flex Consumption app: `.funcignore`, read with gitignore rules
(as azd reads it), over the tracked files plus the local state a checkout that ran the demo and
the tests has. The package must hold what the app needs and nothing else."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pathspec

from localdev.azurite import REPO_ROOT

PACKAGE = {"function_app.py", "functions", "shared", "host.json", "requirements.txt"}
# Left behind by `python -m localdev demo`, the tests, Azurite run from the root, a local
# `func` build, azd and the hooks' venv.
LOCAL_STATE = (
    ".localdev/azurite/__azurite_db_blob__.json",
    ".localdev/azurite/__blobstorage__/0a1b2c",
    ".localdev/emulator.log",
    ".hypothesis/examples/0123/abcd",
    ".pytest_cache/v/cache/lastfailed",
    ".ruff_cache/0.8.0/123",
    "__azurite_db_queue__.json",
    "__blobstorage__/5f6e",
    "__queuestorage__/7a8b",
    ".python_packages/lib/site-packages/openai/__init__.py",
    ".venv/bin/python",
    ".venv-hooks/bin/python",
    ".venv-infra/bin/checkov",
    ".azure/tunedrop/.env",
    ".vscode/settings.json",
    "local.settings.json",
    "node_modules/azurite/package.json",
    "shared/__pycache__/settings.cpython-311.pyc",
    "functions/__pycache__/runs.cpython-311.pyc",
)


def tracked_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    return [line for line in listed.stdout.splitlines() if line]


def packaged(paths: list[str]) -> list[str]:
    ignore = pathspec.GitIgnoreSpec.from_lines((REPO_ROOT / ".funcignore").read_text().splitlines())
    return [path for path in paths if not ignore.match_file(path)]


def test_the_package_holds_exactly_what_the_app_needs() -> None:
    files = packaged(tracked_files() + list(LOCAL_STATE))
    assert {path.split("/")[0] for path in files} == PACKAGE
    assert not [path for path in files if "__pycache__" in path or path.endswith(".pyc")]
    app = [p for p in tracked_files() if p.split("/")[0] in PACKAGE]
    assert sorted(files) == sorted(app), "every tracked file of the app's own folders is packaged"
    size = sum((REPO_ROOT / path).stat().st_size for path in files)
    print(f"package: {len(files)} files, {size / 1024:.0f} KiB before compression")
    # Mostly shared/tokenizer/ (the o200k_base ranks, 3.6 MB), which the app needs offline.
    assert size < 8 * 1024 * 1024


def test_the_ignore_rules_do_what_the_test_assumes(tmp_path: Path) -> None:
    # The same rules leave out a used checkout's Azurite data at any depth, and keep app code.
    rules = pathspec.GitIgnoreSpec.from_lines((REPO_ROOT / ".funcignore").read_text().splitlines())
    assert rules.match_file(".localdev/azurite/__azurite_db_blob__.json")
    assert rules.match_file("docs/http-api.md")
    assert not rules.match_file("shared/runs/record.py")
    assert not rules.match_file("host.json")
