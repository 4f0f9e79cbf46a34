"""run.json and inbox blob names, hostile: arbitrary bytes, structures and names give a parsed
value or an `InvalidInput` whose sentence names the problem, never another exception."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.errors import InvalidInput, InvalidRunConfig
from shared.runs.config import DEPLOYMENT_NAME, RunConfig, RunDefaults, parse_run_config
from shared.runs.names import (
    MAX_RUN_NAME,
    RUN_NAME,
    FileKind,
    check_run_name,
    deployment_name_for,
    parse_inbox_path,
)
from tests.fuzzing import examples
from tests.hostile.strategies import utf8_json_values as json_values

FUZZ = settings(max_examples=examples(150), deadline=None)
DEFAULTS = RunDefaults("gpt-4o-mini-2024-07-18")

FIELD_VALUES = json_values | st.sampled_from(["auto", "Standard", 0, 1, 50, 51, -1, 1e309])
run_json_shaped = st.fixed_dictionaries(
    {},
    optional={
        "model": FIELD_VALUES | st.just("gpt-4o-2024-08-06"),
        "suffix": FIELD_VALUES,
        "seed": FIELD_VALUES,
        "hyperparameters": st.dictionaries(
            st.sampled_from(["n_epochs", "batch_size", "learning_rate_multiplier", "x"]),
            FIELD_VALUES,
        )
        | json_values,
        "deploy": st.dictionaries(
            st.sampled_from(["enabled", "name", "sku", "capacity", "ttl_hours", "y"]),
            FIELD_VALUES,
        )
        | json_values,
        "unknown": json_values,
    },
)


def parsed_or_refused(raw: bytes) -> RunConfig | InvalidRunConfig:
    try:
        return parse_run_config(raw, DEFAULTS)
    except InvalidRunConfig as error:
        assert error.problems and all(p.startswith("run.json") for p in error.problems), error
        assert str(error) == "; ".join(error.problems)
        return error


@FUZZ
@given(raw=st.binary(max_size=300))
def test_arbitrary_bytes_as_run_json_are_parsed_or_refused_with_reasons(raw: bytes) -> None:
    parsed_or_refused(raw)


@FUZZ
@given(value=json_values | run_json_shaped)
def test_any_json_as_run_json_is_parsed_or_refused_and_parsed_configs_round_trip(
    value: Any,
) -> None:
    outcome = parsed_or_refused(json.dumps(value).encode())
    if isinstance(outcome, RunConfig):
        assert isinstance(value, dict)
        assert RunConfig.from_dict(outcome.to_dict()) == outcome
        json.dumps(outcome.to_dict(), allow_nan=False)  # what the run record stores


@pytest.mark.parametrize("depth", [100, 10_000, 60_000])
def test_deeply_nested_run_json_is_refused_with_a_reason(depth: int) -> None:
    outcome = parsed_or_refused(b'{"deploy":' * depth + b"1" + b"}" * depth)
    assert isinstance(outcome, InvalidRunConfig)


def test_a_seed_of_five_thousand_digits_is_refused_with_a_reason() -> None:
    assert isinstance(parsed_or_refused(b'{"seed": ' + b"9" * 5000 + b"}"), InvalidRunConfig)


@pytest.mark.parametrize("raw", [b'{"\\ud800": 1}', b'{"deploy": {"\\udfff": 1}}'])
def test_problems_about_unpaired_surrogates_can_be_written_as_utf8(raw: bytes) -> None:
    outcome = parsed_or_refused(raw)
    assert isinstance(outcome, InvalidRunConfig)
    "; ".join(outcome.problems).encode("utf-8")


names = (
    st.text(max_size=80)
    | st.from_regex(RUN_NAME, fullmatch=True)
    | st.sampled_from(["..", ".", "a/b", "a\\b", "a%2Fb", "ミナト", "Run", "-a", "a-", "a" * 64])
)


@FUZZ
@given(name=names)
def test_a_run_name_is_accepted_only_when_it_is_safe_everywhere(name: str) -> None:
    try:
        assert check_run_name(name) == name
    except InvalidInput as error:
        assert "run name" in str(error)
        assert "\n" not in str(error) and len(str(error)) < 300
        return
    assert name.isascii() and 1 <= len(name) <= MAX_RUN_NAME
    assert not set(name) & set("/\\.%_ ") and name == name.lower()
    deployment = deployment_name_for(name)
    assert DEPLOYMENT_NAME.match(deployment) and len(deployment) <= 64


segments = names | st.sampled_from([f.value for f in FileKind] + ["", ".", "..", "x.jsonl"])


@FUZZ
@given(parts=st.lists(segments, min_size=1, max_size=4), joiner=st.sampled_from(["/", "\\"]))
def test_an_inbox_path_is_a_run_file_only_when_it_is_exactly_run_slash_file(
    parts: list[str], joiner: str
) -> None:
    blob_name = joiner.join(parts)
    try:
        path = parse_inbox_path(blob_name)
    except InvalidInput as error:
        assert str(error) and "\n" not in str(error) and len(str(error)) < 400
        return
    assert path.blob_name == blob_name and joiner == "/" and len(parts) == 2
    assert check_run_name(path.run) == parts[0]
    assert path.report_name == f"{blob_name}.report.json"


@pytest.mark.parametrize(
    "blob_name",
    ["../train.jsonl", "a/../train.jsonl", "a//train.jsonl", "./a/train.jsonl", "a\\train.jsonl",
     "a/b/train.jsonl", "train.jsonl", "a/train.jsonl\n", "a\u200b/train.jsonl",
     "a/train.jsonl\x00", "ａ/train.jsonl", "a/TRAIN.JSONL", "x" * 2000 + "/train.jsonl",
     "a\ud800/train.jsonl", "caf\u0065\u0301/train.jsonl"],
)  # fmt: skip
def test_path_tricks_in_inbox_blob_names_are_refused_with_a_reason(blob_name: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_inbox_path(blob_name)
    message = str(refused.value)
    assert message.encode("utf-8") and len(message) < 400
