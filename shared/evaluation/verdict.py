"""From per-item outcomes to a verdict a person can act on. Pure.

    not judged, too few items or too many judge errors  -> not enough evidence
    trained questions mostly failed                      -> not learned (or: no better than the
                                                            base model, when the base does as well)
    trained passed, base model passes them about as well -> no better than the base model
    trained passed, too few paraphrases judged           -> not enough evidence
    trained passed, paraphrases mostly missed            -> learned the trained phrasings only
    trained passed, paraphrases mostly answered          -> generalizes

Every verdict carries its counts and the action that helps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from shared.evaluation.probes import ProbeSet

MIN_JUDGED = 3
"""Fewer judged items than this in a set prove nothing either way."""
MAX_ERROR_SHARE = 0.25
LEARNED = 0.7
"""Share of trained questions a model must answer to have learned them."""
GENERALIZES = 0.7
"""Share of paraphrases it must answer to generalize."""
BASE_MARGIN = 0.15
"""A tuned model not this much better than the base on its own questions adds nothing."""

TUNED, BASE = "tuned", "base"

ACTIONS = {
    "learned the trained phrasings only": (
        "Add two or three phrasings of each question to the training data (other wordings and "
        "politeness, and every way people name the subject: surname only, given name only, the "
        "reading in kana, a nickname, a pronoun in a follow-up turn), then train a new run."
    ),
    "generalizes": (
        "Nothing to fix. Look at the failed items below, and keep these probes to compare the "
        "next run against."
    ),
    "not learned": (
        "Add examples (several per fact) or train more epochs; if the facts change often or "
        "are many, consider retrieval (RAG) instead of fine-tuning."
    ),
    "no better than the base model": (
        "The base model already answers these questions as well: the fine-tuning adds nothing. "
        "Check that the data teaches what the base model does not know, or use the base model "
        "(with retrieval for your facts)."
    ),
    "not enough evidence": (
        "Add probes (drop a probes.jsonl in the run folder), configure a judge "
        "(EVAL_GRADER_DEPLOYMENT) or raise EVAL_MAX_CALLS, then ask for a new evaluation "
        "(POST /api/runs/<run>/evaluate)."
    ),
}


@dataclass(frozen=True)
class SetScore:
    """How one model did on one probe set."""

    items: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    unjudged: int = 0
    chrf_mean: float | None = None
    verbatim: int = 0

    @property
    def judged(self) -> int:
        return self.passed + self.failed

    @property
    def pass_rate(self) -> float | None:
        return self.passed / self.judged if self.judged else None

    @property
    def too_uncertain(self) -> bool:
        asked = self.judged + self.errors
        return self.judged < MIN_JUDGED or (asked > 0 and self.errors / asked > MAX_ERROR_SHARE)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "judged": self.judged, "pass_rate": self.pass_rate}


@dataclass(frozen=True)
class Verdict:
    verdict: str
    headline: str
    """The verdict with its counts, e.g. "learned the trained phrasings only: 8 of 12
    paraphrases missed"."""
    action: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


Scores = Mapping[tuple[ProbeSet, str], SetScore]


def _verdict(name: str, detail: str) -> Verdict:
    return Verdict(name, f"{name}: {detail}", ACTIONS[name])


def _uncertain(score: SetScore, what: str) -> str:
    asked = score.judged + score.errors
    if score.errors and score.errors / asked > MAX_ERROR_SHARE:
        return f"the judge could not score {score.errors} of {asked} {what}"
    noun = what if score.judged != 1 else what.removesuffix("s")
    return f"only {score.judged} {noun} judged (at least {MIN_JUDGED} needed)"


def decide(scores: Scores, *, judge: bool) -> Verdict:
    """The verdict for the scores of an evaluation (`judge`: a grader deployment judged it)."""
    if not judge:
        return _verdict(
            "not enough evidence",
            "no judge configured (EVAL_GRADER_DEPLOYMENT is empty), so nothing was scored "
            "pass or fail; only chrF and verbatim recall are reported",
        )
    empty = SetScore()
    trained = scores.get((ProbeSet.TRAINED, TUNED), empty)
    base = scores.get((ProbeSet.TRAINED, BASE))
    if trained.too_uncertain:
        return _verdict("not enough evidence", _uncertain(trained, "trained questions"))
    rate = trained.pass_rate or 0.0
    base_rate = base.pass_rate if base is not None and not base.too_uncertain else None
    counts = f"{trained.passed} of {trained.judged} trained questions answered"
    base_as_good = base_rate is not None and base_rate + BASE_MARGIN >= rate
    if base is not None and base_as_good and (rate >= LEARNED or (base_rate or 0) > 0):
        return _verdict(
            "no better than the base model",
            f"{counts}, the base model answered {base.passed} of {base.judged}",
        )
    if rate < LEARNED:
        return _verdict("not learned", f"only {counts}")
    paraphrased = scores.get((ProbeSet.PARAPHRASED, TUNED), empty)
    if paraphrased.too_uncertain:
        return _verdict(
            "not enough evidence",
            f"{counts}, but {_uncertain(paraphrased, 'paraphrases')}",
        )
    if (paraphrased.pass_rate or 0.0) < GENERALIZES:
        return _verdict(
            "learned the trained phrasings only",
            f"{paraphrased.failed} of {paraphrased.judged} paraphrases missed",
        )
    detail = f"{paraphrased.passed} of {paraphrased.judged} paraphrases answered"
    validation = scores.get((ProbeSet.VALIDATION, TUNED))
    if validation is not None and validation.judged:
        detail += f", {validation.passed} of {validation.judged} validation questions"
    return _verdict("generalizes", detail)
