"""The chat request and answer of `POST /api/runs/{run}/chat`.

request:  {"messages": [{"role": "user", "content": "..."}, ...]}
          or {"message": "..."}  (one user message)
          optional "compare": true   also ask the base model (BASE_DEPLOYMENT)
          optional "max_tokens": n   capped by the MAX_CHAT_TOKENS setting
          the messages together at most CHAT_MAX_INPUT_TOKENS o200k tokens (413 past it)
answer:   {"reply", "model", "deployment", "usage"}, with compare also "base_reply" and
          "base_model"
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.api.requests import reject_unknown_fields
from shared.errors import InvalidInput, PayloadTooLarge
from shared.pipeline.commands import ChatAnswer

CHAT_FIELDS = ("messages", "message", "compare", "max_tokens")
ROLES = ("system", "user", "assistant")
MAX_MESSAGES = 100


@dataclass(frozen=True)
class ChatRequest:
    messages: tuple[dict[str, str], ...]
    compare: bool = False
    max_tokens: int | None = None


def parse_chat_request(
    data: Mapping[str, Any], max_chat_tokens: int, max_input_tokens: int | None = None
) -> ChatRequest:
    """Checks a chat body; raises `InvalidInput` naming every problem. `max_tokens` above
    `max_chat_tokens` is lowered to it rather than refused. Messages of more than
    `max_input_tokens` o200k tokens are refused with `PayloadTooLarge` (413) giving the count:
    they would be paid for twice with "compare", and the byte cap alone lets 8 MiB through."""
    reject_unknown_fields(data, CHAT_FIELDS, "chat request")
    problems: list[str] = []
    messages: list[dict[str, str]] = []
    if "messages" in data and "message" in data:
        problems.append('send either "messages" or "message", not both')
    elif "message" in data:
        text = data["message"]
        if not isinstance(text, str) or not text.strip():
            problems.append('"message" must be a non-empty string')
        else:
            messages = [{"role": "user", "content": text}]
    elif "messages" in data:
        messages = _messages(data["messages"], problems)
    else:
        problems.append('the body needs "messages" (a list) or "message" (a string)')
    if messages and messages[-1]["role"] == "assistant":
        problems.append('the last message must come from "user" or "system", not "assistant"')
    compare = data.get("compare", False)
    if not isinstance(compare, bool):
        problems.append('"compare" must be true or false')
    max_tokens = data.get("max_tokens")
    if max_tokens is not None and (
        isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1
    ):
        problems.append('"max_tokens" must be a whole number of at least 1')
    if problems:
        raise InvalidInput("; ".join(problems))
    if max_input_tokens is not None:
        _within_tokens(messages, max_input_tokens)
    capped = min(max_tokens, max_chat_tokens) if isinstance(max_tokens, int) else None
    return ChatRequest(tuple(messages), compare is True, capped)


def _within_tokens(messages: list[dict[str, str]], limit: int) -> None:
    from shared.tokens import count_tokens  # late: the tokenizer loads in about a second

    tokens = sum(count_tokens(message["content"]) for message in messages)
    if tokens > limit:
        raise PayloadTooLarge(
            f"the chat messages hold {tokens:,} tokens (o200k); the limit is {limit:,} "
            "(CHAT_MAX_INPUT_TOKENS)"
        )


def chat_answer_view(answer: ChatAnswer, compare: bool) -> dict[str, Any]:
    """The JSON answer of the chat endpoint."""
    view: dict[str, Any] = {
        "reply": answer.reply,
        "model": answer.model,
        "deployment": answer.deployment,
        "usage": dict(answer.usage),
    }
    if compare:
        view["base_reply"] = answer.base_reply
        view["base_model"] = answer.base_model
    return view


def _messages(value: Any, problems: list[str]) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value:
        problems.append('"messages" must be a non-empty list')
        return []
    if len(value) > MAX_MESSAGES:
        problems.append(f'"messages" holds {len(value)} messages; the limit is {MAX_MESSAGES}')
        return []
    messages = []
    for index, item in enumerate(value):
        where = f'"messages"[{index}]'
        if not isinstance(item, dict):
            problems.append(f"{where} must be an object with role and content")
            continue
        extra = [key for key in item if key not in ("role", "content")]
        if extra:
            problems.append(f"{where}: unknown field(s) {', '.join(map(repr, extra))}")
        role, content = item.get("role"), item.get("content")
        if role not in ROLES:
            problems.append(f'{where}: "role" must be one of {", ".join(ROLES)}')
        if not isinstance(content, str) or not content.strip():
            problems.append(f'{where}: "content" must be a non-empty string')
        if role in ROLES and isinstance(content, str) and content.strip():
            messages.append({"role": role, "content": content})
    return messages
