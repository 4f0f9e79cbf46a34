"""An evaluation in progress: its probes, every answer so far, and what to ask next. Pure.

The service saves this document after every call, so an evaluation spread over many ticks (one
capacity unit is 1,000 tokens and 6 requests a minute, each request counting its prompt plus its
max_tokens: a few probes a minute) resumes after a restart exactly where it
stopped: a task whose result is recorded is never asked again. Tasks come in this order:

    paraphrase each trained probe (only when generating paraphrases), then, probe by probe:
    ask the tuned deployment -> judge its reply -> ask the base deployment -> judge its reply

A call that keeps failing for a transient reason is given up after `max_attempts` and recorded
as an `error`; every call made counts against `call_cap`, and once the cap is reached the rest
is recorded as `skipped`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from shared.evaluation.judging import (
    JUDGE_INSTRUCTIONS,
    PARAPHRASE_INSTRUCTIONS,
    Judgement,
)
from shared.evaluation.probes import Filtered, Probe, ProbeSet, interleaved
from shared.evaluation.similarity import chrf, similarity
from shared.evaluation.verdict import BASE, TUNED, SetScore, Verdict, decide

FORMAT = 1
VERBATIM = 0.9
"""A reply at least this similar to a training answer repeats it nearly word for word."""
JUDGE_MAX_TOKENS = 600
PARAPHRASE_MAX_TOKENS = 800


class TaskKind(StrEnum):
    PARAPHRASE = "paraphrase"
    ASK = "ask"
    JUDGE = "judge"


@dataclass(frozen=True)
class Task:
    kind: TaskKind
    probe: str
    target: str = ""

    @property
    def key(self) -> str:
        return f"{self.kind.value}:{self.probe}:{self.target}"


@dataclass(frozen=True)
class Setup:
    """What an evaluation asks of whom, fixed when it starts."""

    deployment: str
    base_deployment: str = ""
    grader_deployment: str = ""
    max_tokens: int = 300
    seed: int = 42
    paraphrases_per_question: int = 2
    call_cap: int = 400
    max_attempts: int = 8


@dataclass
class Evaluation:
    run: str
    attempt: int
    setup: Setup
    started_at: datetime
    probe_source: str
    """"probes.jsonl", "generated", or "none" (no grader and no probes.jsonl)."""
    probes: list[Probe] = field(default_factory=list)
    paraphrase_pending: list[str] = field(default_factory=list)
    dropped: list[dict[str, str]] = field(default_factory=list)
    known_keys: list[str] = field(default_factory=list)
    """`question_key` of every training and validation question read (for the repeat check)."""
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    calls: int = 0
    usage: dict[str, int] = field(default_factory=dict)
    estimated_tokens: int = 0
    notes: list[str] = field(default_factory=list)
    finished_at: datetime | None = None
    stopped: str = ""

    # -- questions -------------------------------------------------------------------------

    @property
    def judge(self) -> bool:
        return bool(self.setup.grader_deployment)

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    @property
    def budget_left(self) -> int:
        return max(0, self.setup.call_cap - self.calls)

    def targets(self) -> tuple[str, ...]:
        return (TUNED, BASE) if self.setup.base_deployment else (TUNED,)

    def probe(self, probe_id: str) -> Probe:
        return next(probe for probe in self.probes if probe.id == probe_id)

    def next_task(self) -> Task | None:
        """The first task without a recorded result, or None when everything is done."""
        if self.paraphrase_pending:
            return Task(TaskKind.PARAPHRASE, self.paraphrase_pending[0])
        for probe in self.probes:
            result = self.results.get(probe.id, {})
            for target in self.targets():
                answer = result.get(target)
                if answer is None:
                    return Task(TaskKind.ASK, probe.id, target)
                if self.judge and "reply" in answer and f"judge_{target}" not in result:
                    return Task(TaskKind.JUDGE, probe.id, target)
        return None

    def deployment_for(self, task: Task) -> str:
        if task.kind is not TaskKind.ASK:
            return self.setup.grader_deployment
        return self.setup.deployment if task.target == TUNED else self.setup.base_deployment

    def judge_question(self, probe: Probe) -> str:
        """The question as the judge sees it: earlier user turns too (a pronoun follow-up
        only makes sense with the turn that named the subject)."""
        return " / ".join(m["content"] for m in probe.messages if m["role"] == "user")

    # -- recording -------------------------------------------------------------------------

    def call_made(self, usage: Mapping[str, int] | None = None) -> None:
        self.calls += 1
        for key in ("prompt_tokens", "completion_tokens"):
            self.usage[key] = self.usage.get(key, 0) + int((usage or {}).get(key, 0))

    def attempt_failed(self, task: Task, message: str) -> bool:
        """Counts a transient failure of `task`; past `max_attempts` the task is recorded as an
        error and True is returned (the evaluation moves on)."""
        self.attempts[task.key] = self.attempts.get(task.key, 0) + 1
        if self.attempts[task.key] < self.setup.max_attempts:
            return False
        self.failed(task, f"gave up after {self.attempts[task.key]} attempts: {message}")
        return True

    def failed(self, task: Task, message: str) -> None:
        """Records that `task` cannot be done: an error, never a fail."""
        if task.kind is TaskKind.PARAPHRASE:
            self._paraphrase_done(task.probe)
            self.notes.append(f"no paraphrases of {task.probe}: {message}")
        elif task.kind is TaskKind.ASK:
            self.results.setdefault(task.probe, {})[task.target] = {"error": message}
        else:
            result = self.results.setdefault(task.probe, {})
            result[f"judge_{task.target}"] = {"outcome": "error", "error": message}

    def paraphrased(self, origin: str, filtered: Filtered) -> None:
        self._paraphrase_done(origin)
        self.probes = interleaved([*self.probes, *filtered.kept])
        self.dropped += [
            {"origin": origin, "question": item.question, "reason": item.reason}
            for item in filtered.dropped
        ]

    def answered(self, task: Task, reply: str) -> None:
        probe = self.probe(task.probe)
        trained_answers = [p.reference for p in self.probes if p.set is ProbeSet.TRAINED]
        recall = max(
            (similarity(reply, answer) for answer in [probe.reference, *trained_answers]),
            default=0.0,
        )
        self.results.setdefault(task.probe, {})[task.target] = {
            "reply": reply,
            "chrf": round(chrf(reply, probe.reference), 1),
            "verbatim": recall >= VERBATIM,
        }

    def judged(self, task: Task, judgement: Judgement) -> None:
        self.results.setdefault(task.probe, {})[f"judge_{task.target}"] = judgement.to_dict()

    def finish(self, now: datetime, stopped: str = "") -> None:
        self.finished_at = now
        self.stopped = stopped
        self.paraphrase_pending = []

    def _paraphrase_done(self, origin: str) -> None:
        self.paraphrase_pending = [item for item in self.paraphrase_pending if item != origin]

    # -- scoring ---------------------------------------------------------------------------

    def outcome(self, probe_id: str, target: str) -> str:
        """pass, fail, error (the model or the judge gave no usable answer), unjudged (no judge
        configured) or skipped (never asked: the call cap was reached)."""
        result = self.results.get(probe_id, {})
        answer = result.get(target)
        if answer is None:
            return "skipped"
        if "error" in answer:
            return "error"
        if not self.judge:
            return "unjudged"
        judgement = result.get(f"judge_{target}")
        return "skipped" if judgement is None else str(judgement["outcome"])

    def scores(self) -> dict[tuple[ProbeSet, str], SetScore]:
        scores = {}
        for kind in ProbeSet:
            members = [probe for probe in self.probes if probe.set is kind]
            if not members:
                continue
            for target in self.targets():
                outcomes = [self.outcome(probe.id, target) for probe in members]
                answers = [self.results.get(p.id, {}).get(target) or {} for p in members]
                values = [a["chrf"] for a in answers if "chrf" in a]
                scores[kind, target] = SetScore(
                    items=len(members),
                    passed=outcomes.count("pass"),
                    failed=outcomes.count("fail"),
                    errors=outcomes.count("error"),
                    skipped=outcomes.count("skipped"),
                    unjudged=outcomes.count("unjudged"),
                    chrf_mean=round(sum(values) / len(values), 1) if values else None,
                    verbatim=sum(1 for a in answers if a.get("verbatim")),
                )
        return scores

    def verdict(self) -> Verdict:
        return decide(self.scores(), judge=self.judge)

    # -- storage ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The whole report: progress, items and (once finished) the verdict."""
        data: dict[str, Any] = {
            "format": FORMAT,
            "run": self.run,
            "attempt": self.attempt,
            "status": "done" if self.finished else "running",
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "stopped": self.stopped,
            "setup": asdict(self.setup),
            "judge": self.judge,
            "probe_source": self.probe_source,
            "calls": self.calls,
            "usage": dict(self.usage),
            "estimated_tokens": self.estimated_tokens,
            "notes": list(self.notes),
            "paraphrase_pending": list(self.paraphrase_pending),
            "dropped_paraphrases": list(self.dropped),
            "known_question_keys": list(self.known_keys),
            "attempts": dict(self.attempts),
            "scores": [
                {"set": kind.value, "model": target, **score.to_dict()}
                for (kind, target), score in self.scores().items()
            ],
            "items": [
                {**probe.to_dict(), "results": self.results.get(probe.id, {})}
                | {"outcomes": {t: self.outcome(probe.id, t) for t in self.targets()}}
                for probe in self.probes
            ],
        }
        if self.finished:
            data["verdict"] = self.verdict().to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Evaluation:
        finished = data.get("finished_at")
        return cls(
            run=data["run"],
            attempt=int(data["attempt"]),
            setup=Setup(**data["setup"]),
            started_at=datetime.fromisoformat(data["started_at"]),
            probe_source=data["probe_source"],
            probes=[Probe.from_dict(item) for item in data.get("items", [])],
            paraphrase_pending=list(data.get("paraphrase_pending", [])),
            dropped=list(data.get("dropped_paraphrases", [])),
            known_keys=list(data.get("known_question_keys", [])),
            results={item["id"]: dict(item.get("results", {})) for item in data.get("items", [])},
            attempts=dict(data.get("attempts", {})),
            calls=int(data.get("calls", 0)),
            usage=dict(data.get("usage", {})),
            estimated_tokens=int(data.get("estimated_tokens", 0)),
            notes=list(data.get("notes", [])),
            finished_at=datetime.fromisoformat(finished) if finished else None,
            stopped=data.get("stopped", ""),
        )


def estimate_tokens(
    probes: Sequence[Probe], setup: Setup, count: Callable[[str], int], paraphrasing: int
) -> int:
    """Tokens the evaluation will use at most: every prompt counted exactly, every reply at its
    `max_tokens` ceiling. `paraphrasing` is the number of paraphrase calls to come."""
    targets = 2 if setup.base_deployment else 1
    total = paraphrasing * (count(PARAPHRASE_INSTRUCTIONS) + 200 + PARAPHRASE_MAX_TOKENS)
    per_paraphrased = setup.paraphrases_per_question if paraphrasing else 0
    for probe in probes:
        copies = 1 + (per_paraphrased if probe.set is ProbeSet.TRAINED else 0)
        prompt = sum(count(m["content"]) + 4 for m in probe.messages)
        asking = prompt + setup.max_tokens
        judging = 0
        if setup.grader_deployment:
            judging = count(JUDGE_INSTRUCTIONS) + prompt + count(probe.reference)
            judging += setup.max_tokens + JUDGE_MAX_TOKENS
        total += copies * targets * (asking + judging)
    return total
