"""`python -m shared.validation` as a user runs it: exit codes, JSON and text output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.validation.helpers import jsonl, valid_examples

REPO = Path(__file__).resolve().parents[2]
CHARACTER = REPO / "tests" / "data" / "character"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shared.validation", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_valid_file_exits_0_with_the_json_report():
    done = run(
        str(CHARACTER / "train.jsonl"),
        "--validation",
        str(CHARACTER / "validation.jsonl"),
        "--format",
        "json",
        "--epochs",
        "2",
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["valid"] is True
    assert set(report) == {"valid", "errors", "warnings", "stats", "errors_omitted"}
    assert {w["code"] for w in report["warnings"]} >= {
        "duplicate_example",
        "train_validation_overlap",
    }
    assert report["stats"]["epochs"] == 2


def test_an_invalid_file_exits_1_with_one_text_line_per_finding(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(jsonl(*valid_examples(10), b"{oops"))
    done = run(str(bad))
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0].startswith("INVALID: 1 error(s) listed")
    assert lines[1].startswith("error   bad.jsonl: [invalid_json] line 11: is not valid JSON")
    assert any(line.startswith("warning bad.jsonl: [small_dataset]") for line in lines)
    assert "billable tokens" in lines[-1]


def test_a_missing_file_is_a_usage_error_without_traceback(tmp_path):
    done = run(str(tmp_path / "absent.jsonl"))
    assert done.returncode == 2
    assert "absent.jsonl is not a readable file" in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_arguments_are_usage_errors():
    assert run().returncode == 2
    uncountable = run(str(CHARACTER / "train.jsonl"), "--model", "gpt-35-turbo-0125")
    assert uncountable.returncode == 2 and "uses cl100k_base" in uncountable.stderr
    bad_epochs = run(str(CHARACTER / "train.jsonl"), "--epochs", "0")
    assert bad_epochs.returncode == 2
    assert "epochs must be between 1 and 50" in bad_epochs.stderr
    assert "Traceback" not in bad_epochs.stderr
