"""Tunedrop's validator and the emulator (standing in for Azure OpenAI) agree on one corpus.

Every file goes through `validate_dataset` and, through the real `openai` client over HTTP,
to the emulator: uploaded with purpose `fine-tune`, its status read, then used in a job (as the
training file, or as the validation file beside a good training file) to see whether the job
gets past the service's checks. The promise: whatever the emulator refuses, the validator
refuses first, on the same line; whatever the validator refuses and the emulator takes is a
rule where Tunedrop is stricter than the service, and its message says so.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import openai
import pytest

from shared.validation import ValidationReport, validate_dataset
from shared.validation.values import STRICTER
from tests.emulator.helpers import BASE_MODEL, upload_processed, wait_until
from tests.validation.helpers import example, jsonl, line, valid_examples, with_bad_line

BOTH_ACCEPT, BOTH_REFUSE, STRICTER_HERE = "both accept", "both refuse", "validator stricter"
GOOD_TRAINING = jsonl(*valid_examples(12))


def _messages(*pairs: tuple[str, object]) -> dict[str, object]:
    return {"messages": [{"role": role, "content": content} for role, content in pairs]}


def _tool_call(name: str) -> dict[str, object]:
    return {"id": "call_1", "type": "function", "function": {"name": name, "arguments": "{}"}}


WEATHER_TOOL = {"type": "function", "function": {"name": "weather", "parameters": {}}}
ONLY_A_TOOL_CALL = {
    "messages": [
        {"role": "user", "content": "明日の天気は？"},
        {"role": "assistant", "tool_calls": [_tool_call("weather")]},
    ],
    "tools": [WEATHER_TOOL],
}
LEGACY_FUNCTION = {
    "messages": [
        {"role": "user", "content": "明日の天気は？"},
        {"role": "assistant", "function_call": {"name": "weather", "arguments": "{}"}},
        {"role": "function", "name": "weather", "content": "晴れ"},
        {"role": "assistant", "content": "明日は晴れです。"},
    ],
    "functions": [{"name": "weather", "parameters": {}}],
}
UNDECLARED_CALL = {
    "messages": [
        {"role": "user", "content": "明日の天気は？"},
        {"role": "assistant", "tool_calls": [_tool_call("horoscope")]},
    ],
    "tools": [WEATHER_TOOL],
}


@dataclass(frozen=True)
class Case:
    name: str
    data: bytes
    expected: str
    role: str = "training"
    warning: str | None = None


CORPUS = [
    Case("twelve valid Japanese examples", GOOD_TRAINING, BOTH_ACCEPT),
    Case("a byte-order mark first", b"\xef\xbb\xbf" + GOOD_TRAINING, BOTH_ACCEPT),
    Case("a validation file of 9", jsonl(*valid_examples(9)), BOTH_ACCEPT, role="validation"),
    Case("a training file of 9", jsonl(*valid_examples(9)), BOTH_REFUSE),
    Case("no example at all", b"\n", BOTH_REFUSE),
    Case(
        "blank lines between and after",
        jsonl(*valid_examples(5)) + b"\n" + jsonl(*valid_examples(5, start=5)) + b"\n",
        BOTH_ACCEPT,
        warning="blank_line",
    ),
    Case(
        "a U+2028 inside a string",
        with_bad_line(example(40, answer="一行目\u2028二行目")),
        BOTH_ACCEPT,
    ),
    Case("CRLF line ends", GOOD_TRAINING.replace(b"\n", b"\r\n"), BOTH_ACCEPT),
    Case("a reply that only calls a tool", with_bad_line(ONLY_A_TOOL_CALL), BOTH_ACCEPT),
    Case("the older function format", with_bad_line(LEGACY_FUNCTION), BOTH_ACCEPT),
    Case(
        "a line that is not UTF-8", with_bad_line(line(example(40))[:-8] + b'\xff"}]}'), BOTH_REFUSE
    ),
    Case("a line that is not JSON", with_bad_line(b'{"messages": [}'), BOTH_REFUSE),
    Case(
        "a number of 5,000 digits",
        with_bad_line(b'{"messages": ' + b"9" * 5000 + b"}"),
        BOTH_REFUSE,
    ),
    Case("nesting too deep to read", with_bad_line(b"[" * 100_000), BOTH_REFUSE),
    Case("a JSON array", with_bad_line([1, 2]), BOTH_REFUSE),
    Case(
        "the legacy prompt format", with_bad_line({"prompt": "a", "completion": "b"}), BOTH_REFUSE
    ),
    Case("empty messages", with_bad_line({"messages": []}), BOTH_REFUSE),
    Case(
        "an unknown role",
        with_bad_line(_messages(("narrator", "x"), ("assistant", "y"))),
        BOTH_REFUSE,
    ),
    Case(
        "a message without content",
        with_bad_line({"messages": [{"role": "user"}, {"role": "assistant", "content": "y"}]}),
        BOTH_REFUSE,
    ),
    Case(
        "an unknown message key",
        with_bad_line(
            {
                "messages": [
                    {"role": "user", "content": "x", "mood": "calm"},
                    {"role": "assistant", "content": "y"},
                ]
            }
        ),
        BOTH_REFUSE,
    ),
    Case(
        "a weight of 2",
        with_bad_line(
            {
                "messages": [
                    {"role": "user", "content": "x"},
                    {"role": "assistant", "content": "y", "weight": 2},
                ]
            }
        ),
        BOTH_REFUSE,
    ),
    Case("no assistant message", with_bad_line(_messages(("user", "こんにちは"))), BOTH_REFUSE),
    Case(
        "content as a list of parts",
        with_bad_line(_messages(("user", [{"type": "text", "text": "やあ"}]), ("assistant", "y"))),
        STRICTER_HERE,
    ),
    Case(
        "another top-level key",
        with_bad_line({**example(40), "metadata": {"id": 1}}),
        STRICTER_HERE,
    ),
    Case("a call to an undeclared tool", with_bad_line(UNDECLARED_CALL), STRICTER_HERE),
    Case(
        "an example over the token limit",
        with_bad_line(_messages(("user", " cat" * 70_000), ("assistant", "A lot of cats."))),
        STRICTER_HERE,
    ),
    Case(
        "a line over 4 MiB",
        with_bad_line(_messages(("user", " cat" * 1_100_000), ("assistant", "Cats."))),
        STRICTER_HERE,
    ),
]


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    line: int | None
    reason: str


def _emulator_verdict(client: openai.AzureOpenAI, case: Case) -> Verdict:
    uploaded = client.files.create(file=("corpus.jsonl", case.data), purpose="fine-tune")
    stored = wait_until(lambda: client.files.retrieve(uploaded.id), lambda f: f.status != "pending")
    if stored.status == "error":
        return Verdict(False, _line_of(stored.status_details or ""), stored.status_details or "")
    assert stored.status == "processed", stored
    if case.role == "training":
        files = {"training_file": stored.id}
    else:
        good = upload_processed(client, GOOD_TRAINING)
        files = {"training_file": good, "validation_file": stored.id}
    job = client.fine_tuning.jobs.create(model=BASE_MODEL, hyperparameters={"n_epochs": 1}, **files)
    # The service checks the files before training: once the job leaves "pending" it has passed
    # them ("running", then "succeeded") or failed on them.
    started = wait_until(
        lambda: client.fine_tuning.jobs.retrieve(job.id), lambda j: j.status != "pending"
    )
    if started.status == "failed":
        return Verdict(False, None, f"{started.error.code}: {started.error.message}")
    return Verdict(True, None, "")


def _line_of(details: str) -> int | None:
    found = re.search(r"\bline (\d+)\b", details)
    return int(found.group(1)) if found else None


def _validator_report(case: Case) -> ValidationReport:
    if case.role == "training":
        return validate_dataset([case.data])
    return validate_dataset([GOOD_TRAINING], [case.data])


@pytest.mark.parametrize("case", CORPUS, ids=[case.name for case in CORPUS])
def test_what_the_service_refuses_the_validator_refuses_first_on_the_same_line(
    client: openai.AzureOpenAI, case: Case
) -> None:
    report = _validator_report(case)
    emulator = _emulator_verdict(client, case)
    errors = [error for error in report.errors]
    shown = json.dumps([e.to_dict() for e in errors], ensure_ascii=False)[:600]
    if not emulator.accepted:
        assert not report.valid, f"the emulator refused ({emulator.reason}), the validator not"
        if emulator.line is not None:
            lines = {error.line for error in errors}
            assert emulator.line in lines, f"emulator: {emulator.reason}; validator: {shown}"
        outcome = BOTH_REFUSE
    elif not report.valid:
        # Refused here, taken by the service: each message must say that Tunedrop is stricter.
        for error in errors:
            assert STRICTER in error.message, error.message
        outcome = STRICTER_HERE
    else:
        outcome = BOTH_ACCEPT
    assert outcome == case.expected, f"emulator: {emulator.reason or 'accepted'}; {shown}"
    if case.warning is not None:
        assert case.warning in {warning.code for warning in report.warnings}
