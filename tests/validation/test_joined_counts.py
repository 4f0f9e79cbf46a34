"""One encode call for many texts gives exactly the counts of one call per text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.tokens import o200k
from shared.validation.joined_counts import MARK, count_each
from tests.fuzzing import examples

# Characters from every class the o200k regex treats differently at a boundary.
TRICKY = [
    "a", "Z", "é", "\u0301", "1", "٣", "½", "一", "漢", "あ", "ア", "ー", "。", "、", "!", "'",
    "'s", "’", "/", "\n", "\r\n", " ", "  ", "\t", "\u3000", "\u00a0", "😀", "👍🏽", "0", "12",
    "345", "The", " the", "ß", "ǅ", "ʰ", "\u200b", "\u2028", "…", "「", "」", "_", "**", "ｶ",
    "𝔸", "١", "\ud800", MARK,
]  # fmt: skip


def counts_one_by_one(texts):
    encode = o200k().encode_ordinary
    return [len(encode(text)) for text in texts]


def joined(texts):
    encode = o200k().encode_ordinary
    return count_each(encode, encode(MARK)[0], texts)


def test_the_mark_is_one_token():
    assert len(o200k().encode_ordinary(MARK)) == 1


def test_boundaries_between_every_pair_of_character_classes_are_exact():
    texts = [left + right for left in TRICKY for right in TRICKY]
    assert joined(texts) == counts_one_by_one(texts)
    reversed_pairs = list(reversed(texts))
    assert joined(reversed_pairs) == counts_one_by_one(reversed_pairs)


@settings(max_examples=examples(300), deadline=None)
@given(st.lists(st.lists(st.sampled_from(TRICKY), max_size=6).map("".join), max_size=8))
def test_joined_counts_equal_one_call_per_text(texts):
    assert joined(texts) == counts_one_by_one(texts)


@settings(max_examples=examples(200), deadline=None)
@given(st.lists(st.text(max_size=12), max_size=8))
def test_joined_counts_equal_one_call_per_text_for_any_unicode(texts):
    assert joined(texts) == counts_one_by_one(texts)
