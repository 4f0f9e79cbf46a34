"""The validator on hostile files: arbitrary bytes, arbitrary JSON, deep nesting and huge lines
always give a report (never an exception or a hang), whose messages name their line, and whose
memory does not grow with nesting depth."""

from __future__ import annotations

import itertools
import json
import time
import tracemalloc
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.validation import ValidationReport, validate_dataset
from shared.validation.file_check import MAX_LINE_BYTES
from tests.fuzzing import examples
from tests.hostile.strategies import chat_examples, json_values, jsonl, line_bytes

FUZZ = settings(
    max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    """`data` split at the given offsets, as a blob download may deliver it."""
    points = sorted({cut % (len(data) + 1) for cut in cuts})
    edges = [0, *points, len(data)]
    return [data[start:end] for start, end in itertools.pairwise(edges)]


def assert_is_a_usable_report(report: ValidationReport) -> dict[str, Any]:
    """A verdict a person can read: JSON that encodes as UTF-8, errors naming their place."""
    assert isinstance(report, ValidationReport)
    data = report.to_dict()
    json.dumps(data, ensure_ascii=False, allow_nan=False).encode("utf-8")
    assert data["valid"] is (not data["errors"])
    for error in data["errors"]:
        assert error["message"], error
        if error["line"] is not None:
            assert error["message"].startswith(f"line {error['line']}:"), error
    return data


@FUZZ
@given(data=st.binary(max_size=400) | line_bytes, cuts=st.lists(st.integers(0, 500), max_size=6))
def test_arbitrary_bytes_get_a_report_whatever_the_chunking(data: bytes, cuts: list[int]) -> None:
    whole = assert_is_a_usable_report(validate_dataset([data]))
    split = assert_is_a_usable_report(validate_dataset(chunked(data, cuts)))
    assert split == whole


@FUZZ
@given(values=st.lists(json_values, max_size=12))
def test_arbitrary_json_lines_get_a_report_with_every_bad_line_named(values: list[Any]) -> None:
    data = assert_is_a_usable_report(validate_dataset([jsonl(values)]))
    assert data["stats"]["files"]["train.jsonl"]["lines"] == len(values)
    if values:
        assert not data["valid"]  # none of these is a chat example with an assistant reply


@FUZZ
@given(examples=st.lists(chat_examples, max_size=15), validation=st.lists(chat_examples))
def test_almost_chat_examples_get_a_report_and_invalid_lines_are_counted(
    examples: list[dict[str, Any]], validation: list[dict[str, Any]]
) -> None:
    report = validate_dataset([jsonl(examples)], [jsonl(validation)], epochs=3)
    data = assert_is_a_usable_report(report)
    train = data["stats"]["files"]["train.jsonl"]
    assert train["examples"] + train["invalid_lines"] == len(examples)


@pytest.mark.parametrize("depth", [1_000, 100_000, 1_000_000])
@pytest.mark.parametrize("shape", ["list", "object", "messages"])
def test_deep_nesting_is_one_error_for_its_line_not_a_crash(depth: int, shape: str) -> None:
    nested = (
        {"list": b"[" * depth, "object": b'{"a":' * depth}[shape]
        if shape != "messages"
        else (b'{"messages":' + b"[" * depth)
    )
    started = time.monotonic()
    report = validate_dataset([nested + b"\n" + nested + b"\n"])
    assert time.monotonic() - started < 10
    data = assert_is_a_usable_report(report)
    lines = {error["line"] for error in data["errors"] if error["line"]}
    assert lines == {1, 2}


def peak_bytes(line: bytes) -> int:
    """Peak Python memory while validating one line, above what the line itself takes."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        validate_dataset([line])
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def test_memory_for_a_deeply_nested_line_does_not_grow_with_its_depth() -> None:
    # Lines of one length, depth 10 to 1,000,000: the peak stays that of the line's own copies.
    validate_dataset([b"[]"])  # the tokenizer loads once, on first use: not part of a line
    size = 2_000_000
    peaks = {}
    for depth in (10, 10_000, 1_000_000):
        peaks[depth] = peak_bytes(b"[" * depth + b" " * (size - 2 * depth) + b"]" * depth)
    assert max(peaks.values()) - min(peaks.values()) < 250_000, peaks
    # Unclosed nesting, growing: about the line's decoded copy, not a frame or object per level.
    for depth in (1_000, 100_000, 1_000_000):
        assert peak_bytes(b"[" * depth) < 1.2 * depth + 250_000, depth


def test_a_line_longer_than_the_cap_is_skipped_unread_and_the_rest_still_checked() -> None:
    huge = b'{"messages": "' + b"x" * (MAX_LINE_BYTES + 10) + b'"}'
    started = time.monotonic()
    report = validate_dataset([huge[:1_000_000], huge[1_000_000:] + b"\n", b"[]\n"])
    assert time.monotonic() - started < 10
    data = assert_is_a_usable_report(report)
    codes = {(error["line"], error["code"]) for error in data["errors"]}
    assert (1, "line_too_long") in codes and (2, "not_an_object") in codes


def test_a_huge_line_under_the_cap_gets_its_verdict_in_seconds() -> None:
    text = "海" * 1_300_000  # ~3.9 MB of UTF-8: under the line cap, far over any token limit
    line = json.dumps(
        {"messages": [{"role": "user", "content": text}, {"role": "assistant", "content": "x"}]},
        ensure_ascii=False,
    ).encode()
    started = time.monotonic()
    data = assert_is_a_usable_report(validate_dataset([line + b"\n"]))
    assert time.monotonic() - started < 20
    assert {error["code"] for error in data["errors"]} >= {"example_too_long"}


REPRODUCERS = {
    "integer over 4300 digits": b'{"messages": [], "seed": ' + b"7" * 5000 + b"}\n",
    "unpaired surrogate in a key": (
        b'{"messages": [{"role": "user", "content": "a"}], "\\ud800": 1}\n'
    ),
    "unpaired surrogate as role": b'{"messages": [{"role": "\\udfff", "content": "a"}]}\n',
}


@pytest.mark.parametrize("case", list(REPRODUCERS))
def test_long_numbers_and_unpaired_surrogates_get_a_report_that_encodes_as_utf8(
    case: str,
) -> None:
    assert_is_a_usable_report(validate_dataset([REPRODUCERS[case]]))
