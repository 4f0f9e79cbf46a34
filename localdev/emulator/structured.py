"""`response_format` as chat completions check it, and the smallest instance of a schema. Pure.

Refusals use the service's messages and codes: an unknown type (`invalid_value`), a
`json_schema` without its name or schema (`missing_required_parameter`), and a strict schema
whose objects do not set `"additionalProperties": false` or do not require every property
(`invalid_request_error`).
"""

from __future__ import annotations

import re
from typing import Any

from localdev.emulator.wire import ApiError

TYPES = ("text", "json_object", "json_schema")
NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def checked_response_format(value: Any) -> tuple[str, dict[str, Any]] | None:
    """None for plain text (absent, `text`, `json_object`); (name, schema) for `json_schema`.
    Raises `ApiError` 400 as the service does for a malformed one."""
    if value is None:
        return None
    kind = value.get("type") if isinstance(value, dict) else None
    if kind not in TYPES:
        raise ApiError(
            400,
            "invalid_value",
            f"Invalid value: {kind!r}. Supported values are: 'json_object', 'json_schema', "
            "and 'text'.",
        )
    if kind != "json_schema":
        return None
    spec = value.get("json_schema")
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise ApiError(
            400,
            "missing_required_parameter",
            "Missing required parameter: 'response_format.json_schema.name'.",
        )
    name = spec["name"]
    if not NAME.match(name):
        raise ApiError(
            400,
            "invalid_value",
            f"Invalid 'response_format.json_schema.name': string does not match pattern "
            f"{NAME.pattern}.",
        )
    schema = spec.get("schema")
    if not isinstance(schema, dict):
        raise ApiError(
            400,
            "missing_required_parameter",
            "Missing required parameter: 'response_format.json_schema.schema'.",
        )
    if spec.get("strict"):
        problem = _strict_problem(schema, ())
        if problem:
            raise ApiError(
                400,
                "invalid_request_error",
                f"Invalid schema for response_format '{name}': {problem}",
            )
    return name, schema


def _strict_problem(schema: Any, context: tuple[str, ...]) -> str:
    if not isinstance(schema, dict):
        return ""
    where = f"In context=({', '.join(repr(c) for c in context)})"
    if schema.get("type") == "object":
        if schema.get("additionalProperties") is not False:
            return f"{where}, 'additionalProperties' is required to be supplied and to be false."
        properties = schema.get("properties") or {}
        missing = sorted(set(properties) - set(schema.get("required") or []))
        if missing:
            return (
                f"{where}, 'required' is required to be supplied and to be an array including "
                f"every key in properties. Missing '{missing[0]}'."
            )
        for key, child in properties.items():
            problem = _strict_problem(child, (*context, "properties", key))
            if problem:
                return problem
    if schema.get("type") == "array":
        return _strict_problem(schema.get("items"), (*context, "items"))
    return ""


def minimal_instance(schema: Any) -> Any:
    """The smallest value that satisfies a (strict) JSON schema."""
    if not isinstance(schema, dict):
        return None
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        properties = schema.get("properties") or {}
        return {key: minimal_instance(properties[key]) for key in schema.get("required") or []}
    return {"array": [], "string": "", "integer": 0, "number": 0, "boolean": False}.get(kind)
