"""Every branch of the verdict, with the counts and the action a person reads."""

from __future__ import annotations

from shared.evaluation.probes import ProbeSet
from shared.evaluation.verdict import ACTIONS, SetScore, decide

T, P, V = ProbeSet.TRAINED, ProbeSet.PARAPHRASED, ProbeSet.VALIDATION


def score(passed: int, failed: int, errors: int = 0) -> SetScore:
    return SetScore(items=passed + failed + errors, passed=passed, failed=failed, errors=errors)


def test_trained_answered_and_paraphrases_missed_is_learned_the_trained_phrasings_only():
    verdict = decide({(T, "tuned"): score(12, 0), (P, "tuned"): score(4, 8)}, judge=True)
    assert verdict.headline == "learned the trained phrasings only: 8 of 12 paraphrases missed"
    assert verdict.action == ACTIONS["learned the trained phrasings only"]
    assert "two or three phrasings of each question" in verdict.action


def test_trained_and_paraphrases_answered_generalizes_with_validation_counts():
    scores = {
        (T, "tuned"): score(11, 1),
        (P, "tuned"): score(10, 2),
        (V, "tuned"): score(4, 1),
        (T, "base"): score(0, 12),
    }
    verdict = decide(scores, judge=True)
    assert verdict.headline == (
        "generalizes: 10 of 12 paraphrases answered, 4 of 5 validation questions"
    )


def test_trained_questions_mostly_failed_is_not_learned():
    verdict = decide({(T, "tuned"): score(3, 9), (P, "tuned"): score(0, 12)}, judge=True)
    assert verdict.headline == "not learned: only 3 of 12 trained questions answered"
    assert "consider retrieval" in verdict.action


def test_a_base_model_that_does_as_well_on_the_trained_questions_means_no_better():
    scores = {(T, "tuned"): score(12, 0), (T, "base"): score(11, 1), (P, "tuned"): score(12, 0)}
    verdict = decide(scores, judge=True)
    assert verdict.headline == (
        "no better than the base model: 12 of 12 trained questions answered, the base model "
        "answered 11 of 12"
    )


def test_a_weak_model_that_the_base_matches_is_no_better_rather_than_not_learned():
    scores = {(T, "tuned"): score(4, 8), (T, "base"): score(4, 8)}
    assert decide(scores, judge=True).verdict == "no better than the base model"


def test_both_knowing_nothing_is_not_learned_not_no_better():
    scores = {(T, "tuned"): score(0, 12), (T, "base"): score(0, 12)}
    assert decide(scores, judge=True).verdict == "not learned"


def test_too_few_trained_items_is_not_enough_evidence():
    verdict = decide({(T, "tuned"): score(2, 0), (P, "tuned"): score(10, 0)}, judge=True)
    assert verdict.headline == (
        "not enough evidence: only 2 trained questions judged (at least 3 needed)"
    )


def test_too_many_judge_errors_is_not_enough_evidence():
    verdict = decide({(T, "tuned"): score(6, 0, errors=6)}, judge=True)
    assert verdict.headline == (
        "not enough evidence: the judge could not score 6 of 12 trained questions"
    )


def test_learned_but_too_few_paraphrases_is_not_enough_evidence():
    verdict = decide({(T, "tuned"): score(12, 0), (P, "tuned"): score(1, 1)}, judge=True)
    assert verdict.headline == (
        "not enough evidence: 12 of 12 trained questions answered, but only 2 paraphrases "
        "judged (at least 3 needed)"
    )


def test_without_a_judge_nothing_is_scored_and_the_verdict_says_so():
    verdict = decide({(T, "tuned"): SetScore(items=12, unjudged=12)}, judge=False)
    assert verdict.verdict == "not enough evidence"
    assert "no judge configured (EVAL_GRADER_DEPLOYMENT is empty)" in verdict.headline
    assert "EVAL_GRADER_DEPLOYMENT" in verdict.action
