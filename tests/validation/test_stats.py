"""Counts, exact o200k token figures, epochs and the cost estimate."""

from __future__ import annotations

import json

import pytest

from shared.errors import InvalidInput
from shared.models import base_model
from shared.tokens import count_tokens
from shared.validation import auto_epochs
from tests.validation.helpers import example, jsonl, line, message, valid_examples, validate


def reference_tokens(value: dict) -> int:
    """OpenAI's published counting rule, written out independently of the validator."""
    total = 3
    for item in value["messages"]:
        total += 3 + count_tokens(item["role"]) + count_tokens(item["content"])
        if "name" in item:
            total += count_tokens(item["name"]) + 1
    return total


def test_token_counts_follow_the_published_rule_exactly():
    values = [example(n) for n in range(10)]
    values[3]["messages"][1]["name"] = "旅人"
    values[4]["messages"] += [message("user", "Thanks!  Really?"), message("assistant", "Yes.")]
    report = validate(jsonl(*map(line, values)))
    stats = report.stats.files[0]
    expected = [reference_tokens(value) for value in values]
    assert stats.tokens == sum(expected)
    assert (stats.min_example_tokens, stats.max_example_tokens) == (min(expected), max(expected))
    assert stats.messages == 32
    assistant = sum(
        count_tokens(item["content"])
        for value in values
        for item in value["messages"]
        if item["role"] == "assistant"
    )
    assert stats.assistant_tokens == assistant


def test_untrained_assistant_turns_are_not_assistant_tokens():
    value = example(1)
    value["messages"][2]["weight"] = 0
    value["messages"] += [message("user", "続きは？"), message("assistant", "おしまいです。")]
    report = validate(jsonl(line(value), *valid_examples(9, start=2)))
    figures = report.to_dict()["stats"]["files"]["train.jsonl"]
    others = sum(count_tokens(example(n)["messages"][2]["content"]) for n in range(2, 11))
    assert figures["assistant_tokens"] == others + count_tokens("おしまいです。")


def test_the_report_shape_is_the_documented_json():
    report = validate(jsonl(*valid_examples(12)), jsonl(*valid_examples(2, start=30)), epochs=2)
    shape = json.loads(json.dumps(report.to_dict()))
    assert set(shape) == {"valid", "errors", "warnings", "stats", "errors_omitted"}
    stats = shape["stats"]
    assert set(stats["files"]) == {"train.jsonl", "validation.jsonl"}
    train = stats["files"]["train.jsonl"]
    assert train["examples"] == 12 and train["lines"] == 12 and train["invalid_lines"] == 0
    assert set(train["tokens_per_example"]) == {"min", "mean", "max"}
    assert stats["totals"]["examples"] == 14
    assert stats["epochs"] == 2 and stats["epochs_rule"] == "requested"
    assert stats["billable_training_tokens"] == 2 * train["tokens"]
    assert shape["warnings"][0].keys() == {"file", "code", "message", "lines"}


def test_the_cost_uses_the_model_price_or_the_settings_override():
    data = jsonl(*valid_examples(12))
    default = validate(data, epochs=3, model="gpt-4o-2024-08-06").stats.estimate
    tokens = default.billable_training_tokens
    assert default.estimated_cost_usd == pytest.approx(tokens * 25.0 / 1e6)
    cheaper = validate(data, epochs=3, training_usd_per_million_tokens=1.0).stats.estimate
    assert cheaper.estimated_cost_usd == pytest.approx(tokens * 1.0 / 1e6)
    assert cheaper.training_usd_per_million_tokens == 1.0


@pytest.mark.parametrize(
    ("examples", "epochs"),
    [(10, 10), (24, 4), (33, 3), (34, 3), (5_000, 3), (10_000, 2), (30_000, 1)],
)
def test_auto_epochs_follow_the_service_rule(examples, epochs):
    assert auto_epochs(examples) == epochs


def test_without_epochs_the_estimate_states_the_auto_rule():
    stats = validate(jsonl(*valid_examples(20))).to_dict()["stats"]
    assert stats["epochs"] == 5
    assert stats["epochs_rule"] == "auto: the service's default for 20 examples"


def test_an_unknown_model_or_bad_epochs_is_invalid_input():
    with pytest.raises(InvalidInput, match="counts tokens exactly only for o200k_base"):
        validate(b"", model="gpt-35-turbo-0125")
    with pytest.raises(InvalidInput, match="epochs must be between 1 and 50"):
        validate(b"", epochs=0)


def test_the_model_table_has_the_documented_limits():
    assert base_model("gpt-4.1-nano-2025-04-14").max_example_tokens == 32_768
    assert base_model("gpt-4o-2024-08-06").max_example_tokens == 65_536
