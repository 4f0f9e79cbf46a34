"""run.json's `"improve"` section: improve the run with no hands when its evaluation calls for it.

    "improve": {
      "auto": true,          write new phrasings and start a child run when the evaluation
                             says "learned the trained phrasings only" (default false)
      "max_usd": 5,          the most the child's training may cost (default IMPROVE_MAX_USD)
      "subject": "香坂義孝"   how the data names its subject (default: what the validator found)
    }

Pure; problems are reported through the run.json parser's `problem(path, rule)`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

KNOWN = frozenset({"auto", "max_usd", "subject"})
MAX_SUBJECT = 100


@dataclass(frozen=True)
class ImproveConfig:
    auto: bool = False
    max_usd: float | None = None
    subject: str | None = None


def parse_improve(data: Mapping[str, Any], problem: Callable[[str, str], None]) -> ImproveConfig:
    for key in data:
        if key not in KNOWN:
            allowed = ", ".join(sorted(KNOWN))
            problem(f"improve.{key}", f"is not a run.json field (allowed: {allowed})")
    auto = data.get("auto", False)
    if not isinstance(auto, bool):
        problem("improve.auto", "must be true or false")
        auto = False
    cap = data.get("max_usd")
    if cap is not None and (
        isinstance(cap, bool) or not isinstance(cap, int | float) or not 0 <= cap <= 100_000
    ):
        problem("improve.max_usd", "must be a number of US dollars from 0 to 100000")
        cap = None
    subject = data.get("subject")
    if subject is not None and (
        not isinstance(subject, str) or not subject.strip() or len(subject) > MAX_SUBJECT
    ):
        problem("improve.subject", f"must be a non-empty text of at most {MAX_SUBJECT} characters")
        subject = None
    return ImproveConfig(auto, float(cap) if cap is not None else None, subject)
