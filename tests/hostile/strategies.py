"""Hypothesis strategies for hostile input: arbitrary JSON, chat-shaped JSON, weird names."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

# Text with the characters that break naive code: unpaired surrogates (valid in JSON as
# "\ud800" escapes, impossible in UTF-8), NUL, zero-width and byte-order-mark characters.
ODD_CHARACTERS = ["\ud800", "\udfff", "\x00", "\u200b", "\ufeff", "\u202e", "\n"]
hostile_text = st.text(alphabet=st.characters() | st.sampled_from(ODD_CHARACTERS), max_size=40)
utf8_text = st.text(max_size=40)


def json_values_of(text: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    """Any JSON value with strings from `text`: every scalar JSON can hold (NaN and the
    infinities too: Python's json reads them), nested lists and objects."""
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**70), max_value=2**70)
        | st.floats(allow_nan=True, allow_infinity=True)
        | text
    )
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=5)
            | st.dictionaries(text.map(lambda key: key[:12]), children, max_size=5)
        ),
        max_leaves=25,
    )


json_values = json_values_of(hostile_text)
utf8_json_values = json_values_of(utf8_text)

ROLE_NAMES = st.sampled_from(["system", "user", "assistant", "tool", "function", "", "User"])
KEYS = st.sampled_from(
    ["role", "content", "name", "weight", "tool_calls", "tool_call_id", "function_call", "x"]
)

# Messages that look almost right: the rules are exercised, not only the JSON parser.
messages = st.lists(
    st.dictionaries(KEYS, json_values, max_size=4)
    | st.fixed_dictionaries({"role": ROLE_NAMES, "content": json_values})
    | st.fixed_dictionaries({"role": ROLE_NAMES, "content": hostile_text})
    | json_values,
    max_size=6,
)
chat_examples = st.fixed_dictionaries(
    {"messages": messages},
    optional={"tools": json_values, "functions": json_values, "extra": json_values},
)


def jsonl(values: list[Any]) -> bytes:
    """One JSON line per value, as a dataset file would hold them."""
    return "".join(json.dumps(value) + "\n" for value in values).encode()


# Byte soups that stress the line reader: newlines, carriage returns, a BOM, invalid UTF-8.
line_bytes = st.lists(
    st.sampled_from([b"\n", b"\r\n", b"\r", b"\xef\xbb\xbf", b"{", b"}", b'"', b"\xff", b" "])
    | st.binary(max_size=30),
    max_size=40,
).map(b"".join)
