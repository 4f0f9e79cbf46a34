"""Run names and inbox paths: what is a run file, and why anything else is not."""

from __future__ import annotations

import pytest

from shared.errors import InvalidInput
from shared.runs.names import (
    FileKind,
    InboxPath,
    check_run_name,
    deployment_name_for,
    parse_inbox_path,
)


@pytest.mark.parametrize("name", ["a", "minato", "support-bot-v2", "0", "a" * 63])
def test_lowercase_names_with_digits_and_inner_dashes_are_run_names(name):
    assert check_run_name(name) == name


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "the run name is empty"),
        ("a" * 64, "is 64 characters long; the limit is 63"),
        ("Minato", "has uppercase letters; use lowercase ('minato')"),
        ("-minato", "must start and end with a letter or digit"),
        ("minato-", "must start and end with a letter or digit"),
        ("mi_nato", "may only hold lowercase letters a-z, digits and dashes"),
        ("mínato", "may only hold lowercase letters a-z, digits and dashes"),
        ("ミナト", "may only hold lowercase letters a-z, digits and dashes"),
    ],
)
def test_other_names_are_refused_with_the_rule_they_break(name, reason):
    with pytest.raises(InvalidInput) as caught:
        check_run_name(name)
    assert reason in str(caught.value)


@pytest.mark.parametrize("kind", list(FileKind))
def test_each_run_file_parses_to_its_run_and_kind(kind):
    path = parse_inbox_path(f"minato/{kind.value}")
    assert path == InboxPath("minato", kind)
    assert path.report_name == f"minato/{kind.value}.report.json"


@pytest.mark.parametrize(
    ("blob", "reason"),
    [
        ("", "the blob name is empty"),
        ("train.jsonl", "is not in a run folder"),
        ("a/b/train.jsonl", "is in a nested folder"),
        ("../train.jsonl", "has an empty, '.' or '..' path segment"),
        ("./train.jsonl", "has an empty, '.' or '..' path segment"),
        ("/train.jsonl", "has an empty, '.' or '..' path segment"),
        ("minato//train.jsonl", "has an empty, '.' or '..' path segment"),
        ("minato\\train.jsonl", "contains a backslash"),
        ("minato/train.jsonl\n", "contains control or invisible characters"),
        ("mina\u200bto/train.jsonl", "contains control or invisible characters"),
        ("mina\u202eto/train.jsonl", "contains control or invisible characters"),
        ("cafe\u0301/train.jsonl", "is not in Unicode normal form NFC"),
        ("minato/train.csv", "'train.csv' is not a run file"),
        ("minato/TRAIN.JSONL", "'TRAIN.JSONL' is not a run file"),
        ("minato/train.jsonl.report.json", "is not a run file"),
        ("Minato/train.jsonl", "has uppercase letters"),
        ("x" * 2000 + "/train.jsonl", "characters long; not a run file"),
    ],
)
def test_blob_names_that_are_not_run_files_are_refused_with_a_reason(blob, reason):
    with pytest.raises(InvalidInput) as caught:
        parse_inbox_path(blob)
    assert reason in str(caught.value)


def test_a_derived_deployment_name_fits_azures_limit_and_ends_cleanly():
    assert deployment_name_for("minato") == "tunedrop-minato"
    long = deployment_name_for("a" * 54 + "-" + "b" * 8)
    assert len(long) <= 64 and not long.endswith("-")
