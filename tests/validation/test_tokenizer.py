"""The o200k_base encoding Tunedrop builds from its shipped data is tiktoken's, loaded faster."""

from __future__ import annotations

import pytest
import tiktoken
import tiktoken.registry
import tiktoken_ext.openai_public

import shared.tokens
from shared.tokens import O200K_FILE, TOKENIZER_DIR, _ranks, o200k


def tiktokens_own(monkeypatch: pytest.MonkeyPatch) -> tiktoken.Encoding:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(TOKENIZER_DIR))
    return tiktoken.Encoding(**tiktoken_ext.openai_public.o200k_base())


def test_the_encoding_is_tiktokens_o200k_base(monkeypatch: pytest.MonkeyPatch) -> None:
    ours, theirs = o200k(), tiktokens_own(monkeypatch)
    assert ours.name == theirs.name == "o200k_base"
    assert ours._pat_str == theirs._pat_str
    assert ours._special_tokens == theirs._special_tokens
    assert ours._mergeable_ranks == theirs._mergeable_ranks
    text = "香坂 義孝の店は潮見坂の角にある。Captain Mira Vance's 3 ships!\n\n"
    assert ours.encode_ordinary(text) == theirs.encode_ordinary(text)


def test_start_up_skips_tiktokens_slow_reader_of_the_ranks(monkeypatch: pytest.MonkeyPatch) -> None:
    # tiktoken's reader base64-decodes line by line in Python: about twice as slow as `_ranks`,
    # and most of a short command line's run (benchmarks/validate.py, CLI rows).
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("tiktoken's own reader was used")

    monkeypatch.setattr(tiktoken_ext.openai_public, "load_tiktoken_bpe", refuse)
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})
    monkeypatch.setattr(shared.tokens, "_encoding", None)
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR", raising=False)
    assert o200k().encode_ordinary("こんにちは") == [95839]


def test_data_that_is_not_the_expected_file_is_refused() -> None:
    data = O200K_FILE.read_bytes()
    with pytest.raises(ValueError, match="is not the o200k_base data"):
        _ranks(data.replace(b" 0\n", b" 1\n", 1))
