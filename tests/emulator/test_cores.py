"""The emulator's pure cores, without any server: curves, matching, dataset checks, faults."""

from __future__ import annotations

import json

import pytest

from localdev.emulator import Fault, Timings
from localdev.emulator.datasets import DatasetError, parse_chat_jsonl
from localdev.emulator.faults import FaultBook
from localdev.emulator.matching import recall
from localdev.emulator.training import Hyperparameters, plan_training, resolve_hyperparameters
from tests.emulator.helpers import TRAINING_PAIRS, chat_jsonl


def _epoch_curves(epochs: int, n_train: int = 12) -> tuple[list[float], list[float]]:
    plan = plan_training(
        Hyperparameters(epochs, 4, 0.1), n_train=n_train, n_valid=5, seed=5, fingerprint="abc"
    )
    rows = [plan.epoch_end(e) for e in range(1, epochs + 1)]
    return [r.train_loss for r in rows], [r.full_valid_loss for r in rows]


def test_many_epochs_on_few_examples_make_validation_loss_fall_then_rise() -> None:
    train, valid = _epoch_curves(12)
    assert train == sorted(train, reverse=True)
    best = valid.index(min(valid))
    assert 1 <= best <= 4
    assert valid[-1] > valid[best] * 1.5


def test_three_epochs_make_both_losses_fall() -> None:
    train, valid = _epoch_curves(3)
    assert train == sorted(train, reverse=True)
    assert valid == sorted(valid, reverse=True)


def test_curves_are_the_same_for_the_same_seed_and_data_and_differ_otherwise() -> None:
    hyper = Hyperparameters(2, 2, 0.1)
    first = plan_training(hyper, n_train=10, n_valid=0, seed=1, fingerprint="x")
    assert first == plan_training(hyper, n_train=10, n_valid=0, seed=1, fingerprint="x")
    assert first != plan_training(hyper, n_train=10, n_valid=0, seed=2, fingerprint="x")
    assert first.rows[0].valid_loss is None


@pytest.mark.parametrize(
    ("requested", "n_examples", "expected"),
    [
        (None, 12, Hyperparameters(9, 1, 0.1)),
        ({"n_epochs": "auto"}, 5000, Hyperparameters(3, 10, 0.2)),
        (
            {"n_epochs": 4, "batch_size": 8, "learning_rate_multiplier": 0.5},
            12,
            Hyperparameters(4, 8, 0.5),
        ),
    ],
)
def test_auto_hyperparameters_resolve_by_dataset_size(requested, n_examples, expected) -> None:
    assert resolve_hyperparameters(requested, n_examples) == expected


@pytest.mark.parametrize(
    ("requested", "message"),
    [
        ({"n_epochs": 51}, "hyperparameters.n_epochs must be between 1 and 50"),
        ({"batch_size": 2.5}, "hyperparameters.batch_size must be a whole number"),
        ({"learning_rate_multiplier": "fast"}, 'must be a number or "auto"'),
        ({"epochs": 3}, "hyperparameters has unknown fields: epochs"),
    ],
)
def test_bad_hyperparameters_are_refused_naming_the_field(requested, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resolve_hyperparameters(requested, 12)


def test_a_tuned_model_recalls_a_close_question_and_not_a_distant_one() -> None:
    assert recall("which planet is known as red planet?", TRAINING_PAIRS) == TRAINING_PAIRS[2][1]
    assert recall("日本の首都は？", TRAINING_PAIRS) == TRAINING_PAIRS[11][1]
    assert "3776" not in recall("富士山の高さ", TRAINING_PAIRS)
    assert recall("What is Mars?", TRAINING_PAIRS).startswith("Hmm, I am not sure")


def test_a_valid_chat_file_is_parsed_with_its_replies_and_tokens() -> None:
    dataset = parse_chat_jsonl(b"\xef\xbb\xbf" + chat_jsonl(TRAINING_PAIRS))
    assert [e.assistant for e in dataset.examples] == [a for _, a in TRAINING_PAIRS]
    assert all(e.tokens > 10 for e in dataset.examples)


def test_lines_end_at_newlines_only_and_tool_calls_and_functions_are_replies() -> None:
    calling = {
        "messages": [
            {"role": "user", "content": "天気は？\u2028改行つき"},
            {"role": "assistant", "function_call": {"name": "w", "arguments": "{}"}},
            {"role": "function", "name": "w", "content": "晴れ"},
            {"role": "assistant", "content": "晴れです。"},
        ],
        "functions": [{"name": "w", "parameters": {}}],
    }
    only_a_call = {
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "tool_calls": [{"id": "c", "type": "function",
                "function": {"name": "w", "arguments": "{}"}}]},
        ]
    }  # fmt: skip
    data = "\n".join(json.dumps(v, ensure_ascii=False) for v in (calling, only_a_call))
    dataset = parse_chat_jsonl(data.encode())
    assert [e.assistant for e in dataset.examples] == ["晴れです。", ""]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("not json", "line 2: the line is not valid JSON."),
        (
            json.dumps({"messages": [{"role": "user", "content": "hi"}]}),
            "line 2: the example has no assistant message.",
        ),
        (
            json.dumps({"messages": [{"role": "robot", "content": "x"}]}),
            'line 2: message 1 has no valid "role".',
        ),
        (
            json.dumps({"messages": [{"role": "user"}, {"role": "assistant", "content": "x"}]}),
            "line 2: message 1 is missing content.",
        ),
        (
            json.dumps({"messages": [{"role": "user", "content": "x", "mood": "calm"}]}),
            "line 2: message 1 has unrecognized key(s): mood.",
        ),
        (
            json.dumps({"messages": [{"role": "assistant", "content": "x", "weight": 2}]}),
            'line 2: message 1: "weight" must be 0 or 1, on assistant messages only.',
        ),
    ],
)
def test_a_bad_line_is_reported_by_number(line: str, reason: str) -> None:
    lines = chat_jsonl(TRAINING_PAIRS).decode().splitlines()
    lines[1] = line
    with pytest.raises(DatasetError) as bad:
        parse_chat_jsonl("\n".join(lines).encode())
    assert str(bad.value) == reason


def test_a_fault_fires_the_given_number_of_times_on_matching_requests_only() -> None:
    book = FaultBook()
    book.add(Fault("throttle", path_contains="/files", method="GET", times=2))
    assert book.take_http("POST", "/openai/files") is None
    assert book.take_http("GET", "/openai/models") is None
    assert book.take_http("GET", "/openai/files") is not None
    assert book.take_http("GET", "/openai/files/x") is not None
    assert book.take_http("GET", "/openai/files") is None
    assert book.armed() == []


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"kind": "flood"}, 'fault kind "flood" is unknown'),
        ({"kind": "throttle", "times": 0}, 'fault "times" must be at least 1'),
        ({"kind": "throttle", "colour": "red"}, "fault has unknown keys: colour"),
        (["throttle"], "a fault must be a JSON object"),
    ],
)
def test_a_malformed_fault_is_refused_with_a_sentence(payload, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Fault.from_json(payload)


def test_fast_timings_fit_a_whole_life_cycle_in_a_few_seconds() -> None:
    fast = Timings.named("fast")
    three_epochs = fast.file_processing + fast.job_queued + 3 * fast.job_step
    assert (
        three_epochs + fast.deployment_provisioning + fast.deployment_not_ready_after_succeeded < 2
    )
    assert Timings.named("realistic").job_step >= 10
    with pytest.raises(ValueError, match='timings "slow" is unknown'):
        Timings.named("slow")
