"""Every per-line error: its code, its line, and a message a person can act on."""

from __future__ import annotations

import json

import pytest

from tests.validation.helpers import (
    SYSTEM,
    example,
    jsonl,
    line,
    message,
    only_error,
    valid_examples,
    validate,
    with_bad_line,
)


def test_a_clean_file_is_valid_with_no_errors():
    report = validate(jsonl(*valid_examples(10)))
    assert report.valid
    assert report.errors == ()


def test_bytes_that_are_not_utf8_are_reported_on_their_line():
    bad = line(example(20)).replace("茶".encode(), b"\xff\xfe", 1)
    error = only_error(validate(with_bad_line(bad, at=3)))
    assert (error.line, error.code) == (3, "not_utf8")
    assert error.message.startswith("line 3: is not valid UTF-8 (byte 0xff")
    assert "save the file as UTF-8" in error.message


def test_a_utf8_byte_order_mark_and_crlf_line_ends_are_accepted():
    data = b"\xef\xbb\xbf" + b"\r\n".join(valid_examples(10)) + b"\r\n"
    report = validate(data)
    assert report.valid, report.errors
    assert report.stats.files[0].examples == 10


def test_a_line_that_is_not_json_names_the_parser_problem():
    error = only_error(validate(with_bad_line(b'{"messages": [', at=4)))
    assert (error.line, error.code) == (4, "invalid_json")
    assert error.message.startswith("line 4: is not valid JSON: ")
    assert "column" in error.message


def test_a_json_value_that_is_not_an_object_is_rejected():
    error = only_error(validate(with_bad_line([1, 2], at=2)))
    assert (error.line, error.code) == (2, "not_an_object")
    assert error.message == "line 2: must be a JSON object, found a list."


def test_the_legacy_prompt_completion_format_is_explained():
    error = only_error(validate(with_bad_line({"prompt": "a", "completion": "b"}, at=5)))
    assert (error.line, error.code) == (5, "legacy_format")
    assert 'legacy "prompt"/"completion" format' in error.message


@pytest.mark.parametrize(
    ("value", "code", "text"),
    [
        ({"conversation": []}, "missing_messages", 'line 3: has no "messages" list.'),
        (
            {"messages": "hi"},
            "messages_not_a_list",
            'line 3: "messages" must be a list, found a string.',
        ),
        ({"messages": []}, "empty_messages", 'line 3: "messages" must be a non-empty list.'),
    ],
)
def test_messages_must_be_a_non_empty_list(value, code, text):
    report = validate(with_bad_line(value, at=3))
    found = [error for error in report.errors if error.code == code]
    assert [(error.line, error.message) for error in found] == [(3, text)]


def test_a_message_that_is_not_an_object_is_named_by_its_position():
    bad = {"messages": [message("user", "やあ"), "こんにちは", message("assistant", "どうも")]}
    error = only_error(validate(with_bad_line(bad, at=6)))
    assert (error.line, error.code) == (6, "message_not_object")
    assert error.message == "line 6: message 2 must be a JSON object, found a string."


def test_an_unknown_role_lists_the_roles_allowed():
    bad = {"messages": [message("human", "やあ"), message("assistant", "どうも")]}
    error = only_error(validate(with_bad_line(bad, at=3)))
    assert (error.line, error.code) == (3, "unknown_role")
    assert error.message.startswith('line 3: message 1 has role "human"; use one of system, user')


def test_a_message_without_role_is_reported():
    bad = {"messages": [{"content": "やあ"}, message("assistant", "どうも")]}
    error = only_error(validate(with_bad_line(bad, at=3)))
    assert (error.code, error.message) == ("unknown_role", 'line 3: message 1 has no "role".')


def test_a_message_without_content_is_reported():
    bad = {"messages": [{"role": "user"}, message("assistant", "どうも")]}
    error = only_error(validate(with_bad_line(bad, at=7)))
    assert (error.line, error.code) == (7, "missing_content")
    assert error.message == 'line 7: message 1 (user) has no "content".'


def test_content_that_is_not_a_string_is_reported():
    bad = {"messages": [message("user", ["やあ"]), message("assistant", None)]}
    report = validate(with_bad_line(bad, at=3))
    assert [(e.line, e.code) for e in report.errors] == [
        (3, "content_not_string"),
        (3, "content_not_string"),
    ]
    assert report.errors[0].message == (
        'line 3: message 1 (user): "content" must be a string, found a list. (Tunedrop is '
        "stricter than the service here: it also takes a list of content parts, for images; "
        "Tunedrop checks text examples only)."
    )
    assert "found null" in report.errors[1].message


def test_unknown_keys_are_reported_for_examples_and_messages():
    bad = example(30)
    bad["metadata"] = {}
    bad["messages"][1]["contnet"] = "typo"
    report = validate(with_bad_line(bad, at=3))
    assert [(e.line, e.code) for e in report.errors] == [(3, "unknown_key"), (3, "unknown_key")]
    assert report.errors[0].message.startswith('line 3: has unknown key(s) "metadata"; allowed:')
    assert report.errors[1].message.startswith('line 3: message 2 has unknown key(s) "contnet"')


@pytest.mark.parametrize("weight", [2, 0.5, True, "1"])
def test_a_weight_other_than_0_or_1_is_rejected(weight):
    bad = example(30)
    bad["messages"][2]["weight"] = weight
    error = only_error(validate(with_bad_line(bad, at=3)))
    assert (error.line, error.code) == (3, "invalid_weight")
    assert '"weight" must be 0 or 1' in error.message


def test_a_weight_on_a_user_message_is_rejected_and_0_on_assistant_is_fine():
    on_user = example(30)
    on_user["messages"][1]["weight"] = 1
    error = only_error(validate(with_bad_line(on_user, at=3)))
    assert (error.code, error.line) == ("invalid_weight", 3)
    untrained = example(31)
    untrained["messages"].append(message("user", "もう一度"))
    untrained["messages"].append({"role": "assistant", "content": "はいはい", "weight": 0})
    assert validate(with_bad_line(untrained)).valid


def test_an_example_without_assistant_message_teaches_nothing():
    bad = {"messages": [message("system", SYSTEM), message("user", "やあ")]}
    error = only_error(validate(with_bad_line(bad, at=9)))
    assert (error.line, error.code) == (9, "no_assistant_message")
    assert error.message == "line 9: has no assistant message for the model to learn."


WEATHER_TOOL = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}},
}


def tool_example(called: str, answered_id: str = "call_1") -> dict:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": called, "arguments": '{"city": "札幌"}'},
    }
    return {
        "tools": [WEATHER_TOOL],
        "messages": [
            message("user", "札幌の天気は？"),
            {"role": "assistant", "tool_calls": [call]},
            {"role": "tool", "tool_call_id": answered_id, "content": '{"sky": "雪"}'},
            message("assistant", "札幌は雪ですよ。"),
        ],
    }


def test_a_tool_calling_example_with_matching_tools_is_valid():
    assert validate(with_bad_line(tool_example("get_weather"))).valid


def test_a_call_to_an_undeclared_function_is_a_tool_mismatch():
    error = only_error(validate(with_bad_line(tool_example("get_time"), at=3)))
    assert (error.line, error.code) == (3, "tool_call_mismatch")
    assert 'calls "get_time", which "tools" does not declare (declared: get_weather)' in (
        error.message
    )


def test_a_tool_answer_to_no_call_is_a_tool_mismatch():
    error = only_error(validate(with_bad_line(tool_example("get_weather", "call_9"), at=3)))
    assert (error.line, error.code) == (3, "tool_call_mismatch")
    assert 'answers tool_call_id "call_9", which no earlier assistant tool call has' in (
        error.message
    )


def test_tool_calls_without_tools_are_a_tool_mismatch():
    bad = tool_example("get_weather")
    del bad["tools"]
    error = only_error(validate(with_bad_line(bad, at=3)))
    assert error.code == "tool_call_mismatch"
    assert 'declares no "tools"' in error.message


def test_an_example_over_the_models_token_limit_is_rejected():
    long_answer = "灯台 " * 12_000  # about 36,000 tokens: over gpt-4.1-nano's 32,768
    bad = example(30, answer=long_answer)
    error = only_error(validate(with_bad_line(bad, at=3), model="gpt-4.1-nano-2025-04-14"))
    assert (error.line, error.code) == (3, "example_too_long")
    assert "over the 32,768-token limit per example of gpt-4.1-nano-2025-04-14" in error.message


def test_deep_nesting_is_rejected_cleanly():
    error = only_error(validate(with_bad_line(b"[" * 100_000 + b"]" * 100_000, at=3)))
    assert (error.line, error.code) == (3, "too_deeply_nested")
    assert error.message.startswith("line 3: nests lists or objects too deeply")


def test_a_line_of_many_megabytes_is_skipped_and_reported():
    huge = b'{"messages": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    report = validate(with_bad_line(huge, at=3))
    error = only_error(report)
    assert (error.line, error.code) == (3, "line_too_long")
    assert "longer than 4 MiB" in error.message
    assert report.stats.files[0].examples == 10


def test_blank_lines_are_a_warning_listing_them_not_an_error():
    # The emulator skips blank lines and the service does not document them: not a refusal.
    data = jsonl(*valid_examples(5)) + b"\n  \n" + jsonl(*valid_examples(5, start=5)) + b"\n"
    report = validate(data)
    assert report.valid, report.errors
    [warning] = [w for w in report.warnings if w.code == "blank_line"]
    assert warning.lines == (6, 7, 13)
    assert warning.message.startswith("3 blank line(s) hold no example; Tunedrop skips them")


def test_every_problem_of_a_line_is_listed_not_only_the_first():
    bad = {"messages": [{"role": "bot", "content": "x"}, {"role": "user"}], "extra": 1}
    report = validate(with_bad_line(bad, at=3))
    assert [e.code for e in report.errors] == ["unknown_key", "unknown_role", "missing_content"]
    assert {e.line for e in report.errors} == {3}


def test_a_number_of_thousands_of_digits_is_reported_not_raised():
    bad = b'{"messages": [], "seed": ' + b"7" * 5000 + b"}"
    error = only_error(validate(with_bad_line(bad, at=3)))
    assert (error.line, error.code) == (3, "invalid_json")
    assert "a number of thousands of digits" in error.message


def test_unpaired_surrogates_quoted_in_messages_are_escaped_so_the_report_is_utf8():
    bad = b'{"messages": [{"role": "\\udfff", "content": "a"}], "\\ud800": 1}'
    report = validate(with_bad_line(bad, at=3))
    assert [(e.line, e.code) for e in report.errors] == [(3, "unknown_key"), (3, "unknown_role")]
    assert '"\\ud800"' in report.errors[0].message
    json.dumps(report.to_dict(), ensure_ascii=False).encode("utf-8")
