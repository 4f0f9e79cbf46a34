"""Exact o200k_base token counts, from the tokenizer data shipped in `shared/tokenizer/`.

Loading the encoding is most of a short command line's run, so it is read faster than tiktoken
reads it (measured on the shared 2-core machine, best of 5 in one run: tiktoken's
`load_tiktoken_bpe` 0.58 s, `_ranks` 0.29 s; building `tiktoken.Encoding` from the ranks
takes about 0.4-0.5 s more in either case). A background thread loading it while the input is
parsed could not overlap the two: building the `Encoding` holds the GIL throughout (a Python
thread counting in a loop meanwhile ran at 5 % of its speed), and the rest of the load is
Python too.
"""

from __future__ import annotations

import binascii
import hashlib
import os
import threading
from pathlib import Path

import tiktoken

TOKENIZER_DIR = Path(__file__).resolve().parent / "tokenizer"
O200K_FILE = TOKENIZER_DIR / "fb374d419588a4632f3f557e76b4b70aebbca790"
O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
# The o200k_base definition of tiktoken_ext.openai_public (tiktoken 0.14, MIT): its split
# pattern and special tokens. tests/unit/test_tokens.py checks them against tiktoken's own.
O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
O200K_SPECIAL_TOKENS = {"<|endoftext|>": 199999, "<|endofprompt|>": 200018}

_lock = threading.Lock()
_encoding: tiktoken.Encoding | None = None


def o200k() -> tiktoken.Encoding:
    """The o200k_base encoding, loaded once on first use (never at import: it takes ~1 s)."""
    global _encoding
    if _encoding is not None:
        return _encoding
    with _lock:
        if _encoding is None:
            _encoding = _load()
        return _encoding


def _load() -> tiktoken.Encoding:
    configured = os.environ.get("TIKTOKEN_CACHE_DIR")
    if configured and Path(configured).resolve() != TOKENIZER_DIR:
        # A directory the operator set wins: tiktoken reads (and checks) the data there.
        return tiktoken.get_encoding("o200k_base")
    # Others using tiktoken in this process find the shipped copy too, with no network.
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(TOKENIZER_DIR))
    return tiktoken.Encoding(
        "o200k_base",
        pat_str=O200K_PATTERN,
        mergeable_ranks=_ranks(O200K_FILE.read_bytes()),
        special_tokens=O200K_SPECIAL_TOKENS,
    )


def _ranks(data: bytes) -> dict[bytes, int]:
    """The BPE ranks of a `.tiktoken` file (base64 token, rank; one a line), hash checked."""
    if hashlib.sha256(data).hexdigest() != O200K_SHA256:
        raise ValueError(f"{O200K_FILE} is not the o200k_base data tiktoken expects.")
    fields = data.split()
    return dict(zip(map(binascii.a2b_base64, fields[::2]), map(int, fields[1::2]), strict=True))


def count_tokens(text: str) -> int:
    return len(o200k().encode_ordinary(text))
