"""The rules one chat example (one JSONL line) must follow, and what the later steps need of it.

`check_example` takes the parsed JSON value of a line and returns every problem found, each as
`(code, message)`, and for a valid example its `ExampleShape`: the strings whose tokens must be
counted and the few facts the dataset-wide rules use.

Token counting follows the rule OpenAI publishes for chat fine-tuning data ("How to count
tokens with tiktoken", used by its data-preparation cookbook): every message costs 3 tokens plus
the tokens of its role and content, a `name` costs its tokens plus 1, and every example 3 more
for the assistant reply's priming. Function-calling parts (`tool_calls`, `function_call`,
`tools`, `functions`) are counted as their compact JSON text: an approximation, since the service
renders them in its own format.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.validation.tool_rules import check_calls, check_tool_answer, declared_functions
from shared.validation.values import STRICTER, Problem, compact_json, kind_of

ROLES = ("system", "user", "assistant", "tool", "function")
EXAMPLE_KEYS = frozenset({"messages", "tools", "functions", "parallel_tool_calls"})
MESSAGE_KEYS = frozenset(
    {"role", "content", "name", "weight", "tool_calls", "tool_call_id", "function_call"}
)
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
TOKENS_REPLY_PRIMING = 3


@dataclass(slots=True)
class ExampleShape:
    """A valid example as the counting and dataset rules see it.

    `texts` are encoded in a worker; `fixed_tokens` is known without encoding. `trained`
    holds the indexes in `texts` of assistant output the model learns (weight not 0) and
    `final_reply` the index of the last assistant message's text.
    """

    texts: list[str]
    fixed_tokens: int
    trained: list[int]
    final_reply: int
    messages: int
    system: str | None
    prompt: str
    final_user: str


def normalize(text: str) -> str:
    """Text as compared for shared prefixes: whitespace runs collapsed, case folded."""
    return " ".join(text.split()).casefold()


TOOL_NOTE = f" ({STRICTER}: it does not document how it checks tool calls)."


def check_example(
    value: object, line: int, known_tokens: dict[str, int]
) -> tuple[ExampleShape | None, list[Problem]]:
    """Every problem of the example on `line`, and its shape when it has none.

    `known_tokens` gives the token count of every role name and of system messages already
    counted; the caller fills it (system messages repeat in every example: no need to count them
    again).
    """
    shape, problems = _check_example(value, line, known_tokens)
    if problems:
        problems = [
            (code, text + TOOL_NOTE if code == "tool_call_mismatch" else text)
            for code, text in problems
        ]
    return shape, problems


def _check_example(
    value: object, line: int, known_tokens: dict[str, int]
) -> tuple[ExampleShape | None, list[Problem]]:
    at = f"line {line}:"
    if not isinstance(value, dict):
        return None, [("not_an_object", f"{at} must be a JSON object, found {kind_of(value)}.")]
    if "messages" not in value:
        if "prompt" in value or "completion" in value:
            message = (
                f'{at} uses the legacy "prompt"/"completion" format; chat models need '
                '{"messages": [{"role": "user", ...}, {"role": "assistant", ...}]}.'
            )
            return None, [("legacy_format", message)]
        return None, [("missing_messages", f'{at} has no "messages" list.')]
    problems: list[Problem] = []
    if not value.keys() <= EXAMPLE_KEYS:
        unknown = sorted(key for key in value if key not in EXAMPLE_KEYS)
        allowed = ", ".join(sorted(EXAMPLE_KEYS))
        problems.append(
            (
                "unknown_key",
                f"{at} has unknown key(s) {_names(unknown)}; allowed: {allowed}. ({STRICTER}: "
                "it documents no other keys of an example and may ignore them).",
            )
        )
    messages = value["messages"]
    if not isinstance(messages, list):
        problems.append(
            ("messages_not_a_list", f'{at} "messages" must be a list, found {kind_of(messages)}.')
        )
        return None, problems
    if not messages:
        problems.append(("empty_messages", f'{at} "messages" must be a non-empty list.'))
        return None, problems
    tool_names = declared_functions(value, at, problems)
    shape = _check_messages(messages, at, known_tokens, tool_names, problems)
    if shape is None or problems:
        return None, problems
    for key in ("tools", "functions"):
        if key in value:
            shape.texts.append(compact_json(value[key]))
    return shape, problems


def _names(keys: list[str]) -> str:
    return ", ".join(f'"{key}"' for key in keys)


_ROLE_SET = frozenset(ROLES)


def _check_messages(
    messages: list[object],
    at: str,
    known_tokens: dict[str, int],
    tool_names: set[str] | None,
    problems: list[Problem],
) -> ExampleShape | None:
    texts: list[str] = []
    trained: list[int] = []
    fixed = TOKENS_REPLY_PRIMING
    system: str | None = None
    call_ids: set[str] = set()
    last_assistant = -1
    final_reply = -1
    final_user = ""
    context: list[str] = []  # role, text, role, text...: the conversation minus system messages
    for number, message in enumerate(messages, 1):
        # Fast path for the common {"role": ..., "content": "..."}: the same outcome, fewer steps.
        if type(message) is dict and len(message) == 2:
            role = message.get("role")
            content = message.get("content")
            # Two keys, a string role and string content: the keys are exactly these two.
            if type(content) is str and type(role) is str and role in _ROLE_SET:
                fixed += TOKENS_PER_MESSAGE + known_tokens[role]
                if role == "system":
                    if system is None:
                        system = content
                    cached = known_tokens.get(content)
                    if cached is None:
                        texts.append(content)
                    else:
                        fixed += cached
                    continue
                if role == "assistant":
                    last_assistant = len(context)
                    final_reply = len(texts)
                    trained.append(final_reply)
                elif role == "user":
                    final_user = content
                texts.append(content)
                context.append(role)
                context.append(content)
                continue
        outcome = _check_message(
            message, f"{at} message {number}", known_tokens, tool_names, call_ids, problems
        )
        if outcome is None:
            continue
        role, shown, own_texts, own_fixed, weight = outcome
        fixed += own_fixed
        start = len(texts)
        texts.extend(own_texts)
        if role == "assistant":
            last_assistant = len(context)
            final_reply = start
            if weight != 0:
                # The reply and its calls; a trailing name is not output the model learns.
                named = isinstance(message, dict) and isinstance(message.get("name"), str)
                trained.extend(range(start, len(texts) - named))
        elif role == "system" and system is None:
            system = shown
        elif role == "user":
            final_user = shown
        if role != "system":
            context.append(role)
            context.append(shown)
    if problems:
        return None
    if last_assistant < 0:
        problems.append(
            ("no_assistant_message", f"{at} has no assistant message for the model to learn.")
        )
        return None
    return ExampleShape(
        texts=texts,
        fixed_tokens=fixed,
        trained=trained,
        final_reply=final_reply,
        messages=len(messages),
        system=system,
        prompt="\x00".join(context[:last_assistant]),
        final_user=final_user,
    )


def _check_message(
    message: object,
    where: str,
    known_tokens: dict[str, int],
    tool_names: set[str] | None,
    call_ids: set[str],
    problems: list[Problem],
) -> tuple[str, str, list[str], int, object] | None:
    """Checks one message in full: `(role, text, texts to count, fixed tokens, weight)`."""
    if not isinstance(message, dict):
        problems.append(
            ("message_not_object", f"{where} must be a JSON object, found {kind_of(message)}.")
        )
        return None
    unknown = sorted(key for key in message if key not in MESSAGE_KEYS)
    if unknown:
        allowed = ", ".join(sorted(MESSAGE_KEYS))
        problems.append(
            ("unknown_key", f"{where} has unknown key(s) {_names(unknown)}; allowed: {allowed}.")
        )
    role = message.get("role")
    if not isinstance(role, str) or role not in ROLES:
        if "role" not in message:
            problems.append(("unknown_role", f'{where} has no "role".'))
        else:
            problems.append(
                (
                    "unknown_role",
                    f"{where} has role {compact_json(role)[:40]}; use one of {', '.join(ROLES)}.",
                )
            )
        return None
    fixed = TOKENS_PER_MESSAGE + known_tokens[role]
    calls = message.get("tool_calls")
    function_call = message.get("function_call")
    is_call = calls is not None or function_call is not None
    content = message.get("content")
    texts: list[str] = []
    if isinstance(content, str):
        texts.append(content)
    elif "content" not in message and not (role == "assistant" and is_call):
        problems.append(("missing_content", f'{where} ({role}) has no "content".'))
        return None
    elif content is not None or not (role == "assistant" and is_call):
        problems.append(
            (
                "content_not_string",
                f'{where} ({role}): "content" must be a string, found {kind_of(content)}.'
                + (
                    f" ({STRICTER}: it also takes a list of content parts, for images; "
                    "Tunedrop checks text examples only)."
                    if isinstance(content, list)
                    else ""
                ),
            )
        )
        return None
    weight = message.get("weight", 1)
    if "weight" in message and (
        role != "assistant" or isinstance(weight, bool) or weight not in (0, 1)
    ):
        problems.append(
            (
                "invalid_weight",
                f'{where} ({role}): "weight" must be 0 or 1 and only on assistant messages, '
                f"found {compact_json(weight)[:40]}.",
            )
        )
    if is_call:
        check_calls(message, role, where, tool_names, call_ids, problems)
        if role == "assistant":
            texts.append(compact_json(calls if calls is not None else function_call))
    if role == "tool":
        check_tool_answer(message, where, call_ids, problems)
    shown = texts[0] if texts else ""
    name = message.get("name")
    if isinstance(name, str):
        texts.append(name)
        fixed += TOKENS_PER_NAME
    return role, shown, texts, fixed, weight
