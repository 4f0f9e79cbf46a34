"""Checks a fine-tuning file the way the service does and keeps what chat needs from it.

Pure: takes bytes, returns a `Dataset` or raises `DatasetError` whose message is the reason the
service would put in the file's `status_details`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from shared.tokens import count_tokens

MIN_EXAMPLES = 10
ROLES = ("system", "user", "assistant", "tool")
# Tokens the chat format adds around each message and before the reply (gpt-4o family).
TOKENS_PER_MESSAGE = 3
TOKENS_PER_REPLY = 3


class DatasetError(ValueError):
    """The file is not a usable set of chat examples; the message says why, by line."""


@dataclass(frozen=True)
class Example:
    """One training conversation: its last user turn, the assistant reply after it, its size."""

    user: str
    assistant: str
    tokens: int


@dataclass(frozen=True)
class Dataset:
    examples: tuple[Example, ...]
    fingerprint: str

    @property
    def tokens(self) -> int:
        return sum(e.tokens for e in self.examples)


def message_text(content: Any) -> str:
    """The text of a message `content`: a string, or a list of `{"type": "text"}` parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def parse_chat_jsonl(content: bytes, *, minimum: int = MIN_EXAMPLES) -> Dataset:
    """Parses JSONL chat examples; raises `DatasetError` at the first bad line or if too few."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError("The file is not valid UTF-8 text.") from exc
    examples = [
        _example(number, line)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    ]
    if len(examples) < minimum:
        raise DatasetError(
            f"The file has {len(examples)} examples, but at least {minimum} are required."
        )
    return Dataset(tuple(examples), hashlib.sha256(content).hexdigest())


def _example(number: int, line: str) -> Example:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"line {number}: the line is not valid JSON.") from exc
    messages = record.get("messages") if isinstance(record, dict) else None
    if not isinstance(messages, list) or not messages:
        raise DatasetError(f'line {number}: "messages" must be a non-empty list.')
    last_user, reply, tokens = "", "", TOKENS_PER_REPLY
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ROLES:
            raise DatasetError(f'line {number}: message {index + 1} has no valid "role".')
        text = message_text(message.get("content"))
        tokens += TOKENS_PER_MESSAGE + count_tokens(text)
        if role == "user":
            last_user = text
        elif role == "assistant" and text:
            reply = text
    if not reply:
        raise DatasetError(f"line {number}: the example has no assistant message.")
    return Example(user=last_user, assistant=reply, tokens=tokens)
