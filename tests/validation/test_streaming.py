"""Chunk boundaries never change the report; no input makes it raise."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.validation import read_chunks, validate_dataset
from shared.validation.digest_index import DigestIndex, digest
from shared.validation.reader import LineReader
from tests.fuzzing import examples
from tests.validation.helpers import example, line

# A small file with a BOM, CRLF, multi-byte text, a bad byte, bad JSON and a blank line.
TRICKY = (
    b"\xef\xbb\xbf"
    + line(example(0))
    + b"\r\n"
    + line(example(1)).replace("茶".encode(), b"\xe8\x8c", 1)
    + b"\n\n{oops\n"
    + line(example(2))
)


def report_of(chunks):
    return validate_dataset(chunks).to_dict()


def test_the_same_bytes_split_anywhere_give_the_same_report():
    whole = report_of([TRICKY])
    assert [e["code"] for e in whole["errors"]] == ["not_utf8", "invalid_json", "too_few_examples"]
    assert [w["code"] for w in whole["warnings"]] == ["blank_line"]
    for cut in range(1, len(TRICKY)):
        assert report_of([TRICKY[:cut], TRICKY[cut:]]) == whole, cut
    assert report_of([TRICKY[i : i + 1] for i in range(len(TRICKY))]) == whole
    assert report_of([b"", TRICKY, b""]) == whole


def test_read_chunks_reads_a_file_object_to_its_end(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_bytes(TRICKY)
    with path.open("rb") as handle:
        chunks = list(read_chunks(handle, size=7))
    assert b"".join(chunks) == TRICKY and max(map(len, chunks)) == 7


def test_the_line_reader_never_buffers_a_line_past_its_cap():
    chunks = [b"short\n", b"x" * 50, b"x" * 50, b"y\nafter"]
    assert list(LineReader(chunks, max_line_bytes=60, max_file_bytes=10**6)) == [
        (1, b"short"),
        (2, None),
        (3, b"after"),
    ]


def test_the_digest_index_keeps_every_entry_as_it_grows():
    index = DigestIndex(with_tags=True)
    for number in range(5_000):
        assert index.add(digest(str(number)), number + 1, number * 7) is None
    assert index.size == 5_000
    assert index.add(digest("1234"), 99) == (1235, 1234 * 7)
    assert index.find(digest("nope")) is None


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(max_size=200), max_size=6))
def test_arbitrary_bytes_give_a_report_never_an_exception(chunks):
    report = validate_dataset(chunks).to_dict()
    json.dumps(report)
    stats = report["stats"]["files"]["train.jsonl"]
    assert stats["bytes"] == sum(len(chunk) for chunk in chunks)
    assert stats["examples"] + stats["invalid_lines"] <= stats["lines"]
    # Valid exactly when nothing is wrong, and every line-level error names a line of the file.
    assert report["valid"] is (not report["errors"])
    for error in report["errors"]:
        if error["line"] is not None:
            assert 1 <= error["line"] <= stats["lines"], error
            assert error["message"].startswith(f"line {error['line']}: "), error


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["messages", "role", "content", "weight", "tool_calls", "tools", "name"]
            )
            | st.text(max_size=5),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(json_values, min_size=1, max_size=5))
def test_arbitrary_json_lines_give_a_report_never_an_exception(values):
    data = b"\n".join(json.dumps(value).encode() for value in values)
    report = validate_dataset([data])
    assert report.valid is False
    for error in report.errors:
        assert error.message.endswith(".")
