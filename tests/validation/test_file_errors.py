"""Errors about a file as a whole: they carry no line number."""

from __future__ import annotations

from tests.validation.helpers import (
    errors,
    jsonl,
    only_error,
    valid_examples,
    validate,
)


def test_an_empty_file_is_reported_once():
    for data in (b"", b"\n\n\r\n", b"\xef\xbb\xbf"):
        report = validate(data)
        codes = [(e.code, e.line) for e in report.errors]
        assert codes == [("empty_file", None)], data
        assert report.errors[0].message == "train.jsonl is empty: no examples."


def test_fewer_than_ten_valid_examples_cannot_train():
    error = only_error(validate(jsonl(*valid_examples(9))))
    assert (error.line, error.code) == (None, "too_few_examples")
    assert error.message == ("train.jsonl has 9 valid example(s); fine-tuning needs at least 10.")


def test_invalid_lines_do_not_count_toward_the_minimum():
    report = validate(jsonl(*valid_examples(9), b"not json"))
    assert [(e.code, e.line) for e in report.errors] == [
        ("invalid_json", 10),
        ("too_few_examples", None),
    ]


def test_a_file_over_the_upload_limit_is_reported_and_read_no_further():
    data = jsonl(*valid_examples(12))
    report = validate(data, max_file_bytes=len(data) // 2)
    [error] = errors(report, "file_too_large")
    assert error.line is None
    assert "larger than the" in error.message and "upload limit" in error.message
    assert report.stats.files[0].bytes == len(data)
    assert report.stats.files[0].examples < 12


def test_a_training_job_over_the_token_cap_is_rejected():
    report = validate(jsonl(*valid_examples(10)), epochs=2, max_job_tokens=1_000)
    error = only_error(report)
    assert (error.code, error.line) == ("training_job_too_large", None)
    assert "(2 epochs); Azure OpenAI allows at most 1,000 per job." in error.message


def test_errors_are_capped_at_one_hundred_and_the_rest_counted():
    data = jsonl(*valid_examples(10), *[b"{oops"] * 150)
    report = validate(data)
    assert len(report.errors) == 100
    assert report.errors_omitted == 50
    assert [e.line for e in report.errors[:3]] == [11, 12, 13]
    assert report.to_dict()["errors_omitted"] == 50


def test_the_validation_file_is_checked_and_named_in_its_errors():
    report = validate(jsonl(*valid_examples(10)), jsonl(*valid_examples(2, start=40), b"[]"))
    error = only_error(report)
    assert (error.file, error.line, error.code) == ("validation.jsonl", 3, "not_an_object")
