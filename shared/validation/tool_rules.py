"""Function-calling rules: declared tools, the calls that use them, the answers to the calls."""

from __future__ import annotations

from shared.validation.values import Problem, compact_json


def declared_functions(
    example: dict[str, object], at: str, problems: list[Problem]
) -> set[str] | None:
    """Names of the functions `tools`/`functions` declare; None when the example declares none.

    A malformed declaration is reported in `problems`.
    """
    declared: set[str] | None = None
    for key in ("tools", "functions"):
        if key not in example:
            continue
        declared = declared if declared is not None else set()
        entries = example[key]
        if not isinstance(entries, list):
            problems.append(("tool_call_mismatch", f'{at} "{key}" must be a list.'))
            continue
        for number, entry in enumerate(entries, 1):
            function = (
                entry.get("function") if key == "tools" and isinstance(entry, dict) else entry
            )
            name = function.get("name") if isinstance(function, dict) else None
            if not isinstance(name, str):
                problems.append(
                    ("tool_call_mismatch", f'{at} {key} entry {number} has no function "name".')
                )
            else:
                declared.add(name)
    return declared


def check_calls(
    message: dict[str, object],
    role: str,
    where: str,
    tool_names: set[str] | None,
    call_ids: set[str],
    problems: list[Problem],
) -> None:
    """Tool calls must come from the assistant, be well formed, and name declared functions."""
    if role != "assistant":
        problems.append(
            ("tool_call_mismatch", f"{where} ({role}): only assistant messages may call tools.")
        )
        return
    calls = message.get("tool_calls")
    if calls is None:
        entries: list[object] = [message.get("function_call")]
    elif isinstance(calls, list) and calls:
        entries = [call.get("function") if isinstance(call, dict) else None for call in calls]
        call_ids.update(
            call["id"]
            for call in calls
            if isinstance(call, dict) and isinstance(call.get("id"), str)
        )
    else:
        problems.append(("tool_call_mismatch", f'{where}: "tool_calls" must be a non-empty list.'))
        return
    for function in entries:
        name = function.get("name") if isinstance(function, dict) else None
        arguments = function.get("arguments") if isinstance(function, dict) else None
        if not isinstance(name, str) or not isinstance(arguments, str):
            problems.append(
                (
                    "tool_call_mismatch",
                    f'{where}: each call needs a function "name" and "arguments" as a string.',
                )
            )
        elif tool_names is None:
            problems.append(
                (
                    "tool_call_mismatch",
                    f'{where} calls "{name}" but the example declares no "tools".',
                )
            )
        elif name not in tool_names:
            declared = ", ".join(sorted(tool_names)) or "none"
            problems.append(
                (
                    "tool_call_mismatch",
                    f'{where} calls "{name}", which "tools" does not declare '
                    f"(declared: {declared}).",
                )
            )


def check_tool_answer(
    message: dict[str, object], where: str, call_ids: set[str], problems: list[Problem]
) -> None:
    """A tool message must answer a call an earlier assistant message made."""
    call_id = message.get("tool_call_id")
    if not isinstance(call_id, str) or call_id not in call_ids:
        problems.append(
            (
                "tool_call_mismatch",
                f"{where} (tool) answers tool_call_id {compact_json(call_id)[:60]}, "
                "which no earlier assistant tool call has.",
            )
        )
