"""How a JSON value is described in a message, and its compact JSON text."""

from __future__ import annotations

import json

STRICTER = "Tunedrop is stricter than the service here"
"""Begins the note of every error that Azure OpenAI itself would not raise: the agreement test
(tests/emulator/test_validator_agreement.py) asserts that a refusal the service would not make
says so."""

Problem = tuple[str, str]
"""A rule broken: `(code, message)`; the message is a sentence that names the line."""


def kind_of(value: object) -> str:
    """`"a string"`, `"null"`, `"a list"`...: what a JSON value is, for a message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def compact_json(value: object) -> str:
    """The JSON text of `value` without spaces, non-ASCII kept."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
