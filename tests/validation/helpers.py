"""Small JSONL files made for one rule each, and shortcuts to read a report."""

from __future__ import annotations

import json
from typing import Any

from shared.validation import DatasetWarning, Finding, ValidationReport, validate_dataset

SYSTEM = "あなたは山の茶屋の店主、真白です。"
QUESTIONS = [
    "お茶のおすすめは何ですか？",
    "茶屋は何年続いていますか？",
    "山頂まではどのくらいかかりますか？",
    "冬でも営業していますか？",
    "名物のお団子は何味ですか？",
    "猫を飼っていますか？",
    "雨の日の景色はどうですか？",
    "道具はどこで買ったのですか？",
    "一番忙しい季節はいつですか？",
    "好きな花は何ですか？",
    "子どもの頃の思い出は？",
    "登山者に伝えたいことは？",
]


def message(role: str, content: Any) -> dict[str, Any]:
    return {"role": role, "content": content}


def example(number: int, *, system: str | None = SYSTEM, answer: str | None = None) -> dict:
    """A valid single-turn example; `number` picks a distinct question and answer."""
    question = QUESTIONS[number % len(QUESTIONS)]
    if number >= len(QUESTIONS):
        question += f"（その{number}）"
    messages = [] if system is None else [message("system", system)]
    messages += [
        message("user", question),
        message("assistant", answer or f"ゆっくり答えますね。これは{number}番目のお話です。"),
    ]
    return {"messages": messages}


def line(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def jsonl(*lines: bytes | dict | list | str) -> bytes:
    """Joins lines (bytes kept as they are, other values as JSON) into a JSONL file."""
    encoded = [item if isinstance(item, bytes) else line(item) for item in lines]
    return b"\n".join(encoded) + b"\n"


def valid_examples(count: int = 10, start: int = 0, **options: Any) -> list[bytes]:
    return [line(example(number, **options)) for number in range(start, start + count)]


def with_bad_line(bad: bytes | dict | list | str, at: int = 3) -> bytes:
    """Ten valid examples with `bad` inserted so that it is line `at`."""
    lines: list[Any] = list(valid_examples(10))
    lines.insert(at - 1, bad)
    return jsonl(*lines)


def validate(data: bytes, validation: bytes | None = None, **options: Any) -> ValidationReport:
    return validate_dataset([data], None if validation is None else [validation], **options)


def errors(report: ValidationReport, code: str) -> list[Finding]:
    return [error for error in report.errors if error.code == code]


def warning(report: ValidationReport, code: str) -> DatasetWarning:
    found = [item for item in report.warnings if item.code == code]
    assert len(found) == 1, f"expected one {code} warning, got {report.warnings}"
    return found[0]


def warning_codes(report: ValidationReport) -> list[str]:
    return [item.code for item in report.warnings]


def only_error(report: ValidationReport) -> Finding:
    assert not report.valid
    assert len(report.errors) == 1, report.errors
    return report.errors[0]
