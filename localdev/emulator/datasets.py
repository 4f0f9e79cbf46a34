"""Checks a fine-tuning file the way the service does and keeps what chat needs from it.

Pure: takes bytes, returns a `Dataset` or raises `DatasetError` whose message is the reason the
service would put in the file's `status_details`, naming the line.

Each rule enforced here, and where it comes from (the table in ../README.md says the same):
- UTF-8 (a leading byte-order mark is allowed, not required): Azure OpenAI "Customize a model
  with fine-tuning" ("must be encoded in UTF-8 and include a byte-order mark"); the BOM is not
  enforced, as OpenAI's API does not need it and no refusal of a file without one is reported.
- One JSON object per line with a non-empty "messages" list: the same page ("formatted as a
  JSON Lines (JSONL) document ... in the conversational format ... used by the Chat completions
  API").
- Roles system, user, assistant, tool, function: the same page and Azure OpenAI "Function
  calling" fine-tuning (tools, and the older functions format).
- Message keys role, content, name, weight, tool_calls, tool_call_id, function_call; content
  present (text or a list of parts) unless an assistant message calls a tool; at least one
  assistant message: the format checks of OpenAI's cookbook "Data preparation and analysis for
  chat model fine-tuning" (message_unrecognized_key, missing_content,
  example_missing_assistant_message), the checks OpenAI publishes for this format.
- "weight" only on assistant messages, 0 or 1: Azure's page ("Currently weight can be set to 0
  or 1", for assistant messages).
- No minimum number of examples per file: the minimum of 10 applies to the training file of a
  job and is checked when the job is created (`MIN_TRAINING_EXAMPLES`); a validation file of 9
  examples was accepted by Azure OpenAI in the run Tunedrop comes from.
Not enforced, on purpose: blank lines are skipped (the service's handling is undocumented);
an example over the model's token limit is not refused (OpenAI's fine-tuning guide, "Token
limits": longer examples are truncated to the maximum context length).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from shared.tokens import count_tokens

MIN_TRAINING_EXAMPLES = 10
ROLES = ("system", "user", "assistant", "tool", "function")
MESSAGE_KEYS = frozenset(
    {"role", "content", "name", "weight", "tool_calls", "tool_call_id", "function_call"}
)
UTF8_BOM = b"\xef\xbb\xbf"
JSON_WHITESPACE = b" \t\r\n"
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


def parse_chat_jsonl(content: bytes) -> Dataset:
    """Parses JSONL chat examples; raises `DatasetError` at the first bad line or if none.

    Lines end at "\\n" only (as JSONL defines them): a U+2028 inside a JSON string is text.
    """
    body = content[len(UTF8_BOM) :] if content.startswith(UTF8_BOM) else content
    examples = []
    for number, raw in enumerate(body.split(b"\n"), start=1):
        line = raw.strip(JSON_WHITESPACE)
        if line:
            examples.append(_example(number, line))
    if not examples:
        raise DatasetError("The file has no examples.")
    return Dataset(tuple(examples), hashlib.sha256(content).hexdigest())


def too_few_training_examples(dataset: Dataset) -> str | None:
    """The reason a job cannot train on `dataset`, as OpenAI words it, or None."""
    count = len(dataset.examples)
    if count >= MIN_TRAINING_EXAMPLES:
        return None
    return (
        f"Training file has {count} example(s), but must have at least "
        f"{MIN_TRAINING_EXAMPLES} examples"
    )


def _zero_or_one(value: object) -> bool:
    return not isinstance(value, bool) and value in (0, 1)


def _example(number: int, line: bytes) -> Example:
    at = f"line {number}:"
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{at} the line is not valid UTF-8.") from exc
    try:
        record = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise DatasetError(f"{at} the line is not valid JSON.") from exc
    messages = record.get("messages") if isinstance(record, dict) else None
    if not isinstance(messages, list) or not messages:
        raise DatasetError(f'{at} "messages" must be a non-empty list.')
    last_user, reply, tokens, has_reply = "", "", TOKENS_PER_REPLY, False
    for index, message in enumerate(messages, start=1):
        where = f"{at} message {index}"
        role = message.get("role") if isinstance(message, dict) else None
        if not isinstance(message, dict) or role not in ROLES:
            raise DatasetError(f'{where} has no valid "role".')
        unknown = sorted(str(key) for key in message if key not in MESSAGE_KEYS)
        if unknown:
            raise DatasetError(f"{where} has unrecognized key(s): {', '.join(unknown)}.")
        calls = message.get("tool_calls") is not None or message.get("function_call") is not None
        content = message.get("content")
        if not isinstance(content, str | list) and not (role == "assistant" and calls):
            raise DatasetError(f"{where} is missing content.")
        weight = message.get("weight", 1)
        if (role != "assistant" and "weight" in message) or not _zero_or_one(weight):
            raise DatasetError(f'{where}: "weight" must be 0 or 1, on assistant messages only.')
        text = message_text(content)
        tokens += TOKENS_PER_MESSAGE + count_tokens(text)
        if role == "user":
            last_user = text
        elif role == "assistant":
            has_reply, reply = True, text or reply
    if not has_reply:
        raise DatasetError(f"{at} the example has no assistant message.")
    return Example(user=last_user, assistant=reply, tokens=tokens)
