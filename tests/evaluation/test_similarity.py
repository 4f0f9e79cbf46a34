"""chrF as sacrebleu computes it, and why it is not the pass/fail: on Japanese, a wrong answer
worded like the reference outscores a correct paraphrase."""

from __future__ import annotations

import pytest
from sacrebleu.metrics import CHRF

from shared.evaluation.similarity import chrf, similarity

REFERENCE = "ミナの好きな食べ物は祖母が作る梅干しのおにぎりです。"
CORRECT = "ミナの好物は、おばあちゃんが握る梅干し入りのおにぎりだよ。"
WRONG = "ミナの好きな食べ物は母が作る鮭のおにぎりです。"


@pytest.mark.parametrize(
    ("hypothesis", "reference"),
    [
        (CORRECT, REFERENCE),
        (WRONG, REFERENCE),
        ("I don't know.", REFERENCE),
        ("The cat sat on the mat.", "The cat is on the mat."),
        ("", "x"),
        ("same", "same"),
    ],
)
def test_chrf_equals_sacrebleus_default_chrf(hypothesis: str, reference: str):
    expected = CHRF().sentence_score(hypothesis, [reference]).score
    assert chrf(hypothesis, reference) == pytest.approx(expected, abs=1e-9)


def test_overlap_scores_a_wrong_answer_above_a_correct_paraphrase():
    assert chrf(WRONG, REFERENCE) > chrf(CORRECT, REFERENCE)


def test_similarity_ignores_punctuation_width_and_case_and_is_symmetric():
    assert similarity("Ｈｅｌｌｏ、World！", "hello world") == 1.0
    assert similarity("香坂さんの趣味は？", "香坂義孝の趣味は何ですか") == similarity(
        "香坂義孝の趣味は何ですか", "香坂さんの趣味は？"
    )
    assert similarity("", "x") == 0.0
