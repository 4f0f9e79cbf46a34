"""Risks that do not stop training, each naming the lines concerned."""

from __future__ import annotations

from tests.validation.helpers import (
    QUESTIONS,
    SYSTEM,
    example,
    jsonl,
    line,
    message,
    valid_examples,
    validate,
    warning,
    warning_codes,
)


def test_a_clean_file_of_fifty_examples_has_no_warning():
    report = validate(jsonl(*valid_examples(50)))
    assert report.valid
    assert report.warnings == ()


def test_an_exact_duplicate_names_both_lines():
    lines = valid_examples(50)
    lines.insert(6, lines[1])
    report = validate(jsonl(*lines))
    found = warning(report, "duplicate_example")
    assert found.lines == (2, 7)
    assert found.message.startswith("1 example(s) repeat an earlier line exactly (e.g. line 7")
    assert "duplicate_prompt" not in warning_codes(report)


def test_a_repeated_prompt_tells_different_answers_from_the_same_answer():
    lines = valid_examples(50)
    lines.insert(10, line(example(3, answer="まったく別の答えです。")))  # line 11 asks line 4
    same_answer_other_bytes = line(example(5)).replace(b'"role": "user"', b'"role":"user"')
    lines.append(same_answer_other_bytes)  # line 52 asks what line 6 asks, same answer
    found = warning(validate(jsonl(*lines)), "duplicate_prompt")
    assert found.lines == (4, 6, 11, 52)
    assert "(e.g. line 11 asks what line 4 asks)" in found.message
    assert "1 with a different answer, 1 with the same answer" in found.message


def test_a_prompt_in_both_files_is_a_train_validation_overlap():
    validation = jsonl(line(example(100)), line(example(7, answer="別の答え")))
    report = validate(jsonl(*valid_examples(50)), validation)
    found = warning(report, "train_validation_overlap")
    assert (found.file, found.lines) == ("validation.jsonl", (2,))
    assert "(e.g. line 2 here and line 8 of train.jsonl)" in found.message


def test_examples_missing_the_system_message_are_listed():
    lines = valid_examples(50)
    lines[4] = line(example(4, system=None))
    found = warning(validate(jsonl(*lines)), "missing_system_message")
    assert found.lines == (5,)
    assert found.message.startswith("1 of 50 examples have no system message")


def test_a_file_with_no_system_message_at_all_is_told_so():
    found = warning(validate(jsonl(*valid_examples(50, system=None))), "missing_system_message")
    assert found.message.startswith("No example has a system message")
    assert found.lines[:3] == (1, 2, 3)
    assert "(20 lines listed, 30 more)" in found.message


def test_a_differing_system_message_is_listed_against_the_common_one():
    lines = valid_examples(50)
    lines[9] = line(example(9, system=SYSTEM + "丁寧に答えます。"))
    found = warning(validate(jsonl(*lines)), "inconsistent_system_message")
    assert found.lines == (10,)
    assert "different from the one most examples use (as on line 1)" in found.message


def test_an_example_close_to_the_token_limit_risks_truncation():
    lines = valid_examples(50)
    lines[2] = line(example(2, answer="灯台 " * 10_400))  # ~31,200 of gpt-4.1-nano's 32,768
    report = validate(jsonl(*lines), model="gpt-4.1-nano-2025-04-14")
    assert report.valid
    found = warning(report, "truncation_risk")
    assert found.lines == (3,)
    assert "more than 90% of the model's per-example token limit" in found.message


def test_very_short_assistant_replies_are_listed():
    lines = valid_examples(50)
    lines[11] = line(example(11, answer="はい"))
    found = warning(validate(jsonl(*lines)), "short_assistant_reply")
    assert found.lines == (12,)
    assert "fewer than 3 tokens" in found.message


def test_a_small_dataset_warns_of_overfitting():
    report = validate(jsonl(*valid_examples(12)))
    found = warning(report, "small_dataset")
    assert found.lines == ()
    assert found.message.startswith("The training file has only 12 examples")


def test_a_few_questions_asked_over_and_over_is_low_prompt_diversity():
    lines = [line(example(n % 5, answer=f"答えその{n}です。")) for n in range(50)]
    report = validate(jsonl(*lines))
    found = warning(report, "low_prompt_diversity")
    assert found.message.startswith("Only 5 of 50 training examples have a prompt of their own")


def test_prompts_that_all_start_the_same_way_are_templated():
    lines = []
    for number in range(50):
        value = example(number)
        value["messages"][1]["content"] = (
            "次の質問に答えてください：" + QUESTIONS[number % 12] + str(number)
        )
        lines.append(line(value))
    found = warning(validate(jsonl(*lines)), "templated_prompts")
    assert found.message.startswith(
        "50 of 50 examples' last user messages start with \"次の質問に答えてください"
    )
    assert len(found.lines) == 20 and "(20 lines listed, 30 more)" in found.message


def test_a_multi_turn_prompt_is_the_whole_conversation_before_the_last_reply():
    first = example(0)
    first["messages"] += [message("user", "もう少し詳しく"), message("assistant", "喜んで。")]
    second = example(1)
    second["messages"] += [message("user", "もう少し詳しく"), message("assistant", "喜んで。")]
    report = validate(jsonl(line(first), line(second), *valid_examples(48, start=2)))
    assert "duplicate_prompt" not in warning_codes(report)
