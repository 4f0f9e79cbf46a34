"""Exact o200k_base token counts, from the tokenizer data shipped in `shared/tokenizer/`."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import tiktoken

TOKENIZER_DIR = Path(__file__).resolve().parent / "tokenizer"


@cache
def o200k() -> tiktoken.Encoding:
    """The o200k_base encoding, loaded once on first use (never at import: it takes ~0.5 s)."""
    # tiktoken only reads local data through its cache directory; pointing it at the shipped
    # copy keeps the first call off the network. A directory the operator set wins.
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(TOKENIZER_DIR))
    return tiktoken.get_encoding("o200k_base")


def count_tokens(text: str) -> int:
    return len(o200k().encode_ordinary(text))
