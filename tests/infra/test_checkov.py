"""checkov on infra/, offline, with the skipped checks and their reasons in infra/checkov.yaml.

checkov pins old packages, so it lives in its own venv, `.venv-infra`, which `./dev test` makes.
"""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml

from localdev.azurite import REPO_ROOT
from tests.infra.bicep import bicep_files

CHECKOV = REPO_ROOT / ".venv-infra" / "bin" / "checkov"
CONFIG = REPO_ROOT / "infra" / "checkov.yaml"


def run_checkov(*extra: str) -> dict:
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: run ./dev setup (./dev test makes it)")
    result = subprocess.run(
        [str(CHECKOV), "--config-file", str(CONFIG), "-o", "json", *extra],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.stdout, result.stderr[-2000:]
    report = json.loads(result.stdout)
    return report[0] if isinstance(report, list) else report


def skipped_checks() -> list[str]:
    return list(yaml.safe_load(CONFIG.read_text(encoding="utf-8"))["skip-check"])


def test_checkov_fails_nothing_but_the_checks_skipped_with_a_reason_and_each_of_those_fails() -> (
    None
):
    # One run with no skip (the command line's --skip-check replaces the config's list): what
    # fails must be exactly the skipped checks, so a new problem fails here, and a skip that
    # no longer hides anything must be removed from infra/checkov.yaml.
    report = run_checkov("--skip-check", "CKV_NONE")
    summary = report["summary"]
    assert summary["parsing_errors"] == 0
    failed = report["results"]["failed_checks"]
    unexpected = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}): {c['check_name']}"
        for c in failed
        if c["check_id"] not in skipped_checks()
    ]
    assert not unexpected, "\n".join(unexpected)
    stale = set(skipped_checks()) - {c["check_id"] for c in failed}
    assert not stale, f"these skips hide nothing any more: remove them from {CONFIG.name}"
    checked = {c["file_path"].lstrip("/") for c in report["results"]["passed_checks"]}
    # Every file with resources checkov has rules for was read (identity and roles have none).
    assert {"modules/storage.bicep", "modules/functionapp.bicep", "modules/openai.bicep"} <= checked


def test_every_skipped_check_has_a_reason_and_no_skip_hides_in_a_bicep_file() -> None:
    lines = CONFIG.read_text(encoding="utf-8").splitlines()
    for check in skipped_checks():
        line = next(text for text in lines if text.strip().startswith(f"- {check}"))
        assert "#" in line and line.split("#", 1)[1].strip(), f"{check} has no reason"
    for path in bicep_files():
        assert "checkov:skip" not in path.read_text(encoding="utf-8"), path.name
