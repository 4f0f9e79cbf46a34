"""Evaluating a deployed run: start it, advance it a few calls per tick, finish with a verdict.

The timer plans `EvaluateModel` for a deployed run whose evaluation is due (see
`shared.evaluation.flag`); the step is claimed on the run record first, so two hosts never work
on one evaluation. Each tick makes at most `calls_per_tick` calls, and starts none after
`tick_seconds`, so no function is held past its time limit even by a deployment that answers
once a minute. The report (progress included) is saved after every call: a host that stops
between ticks resumes without asking anything twice. A throttled or not-yet-ready call ends the
tick and is retried on a later one, after the service's Retry-After.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from shared.errors import (
    NotFound,
    PermanentServiceError,
    TransientServiceError,
)
from shared.evaluation import judging
from shared.evaluation.flag import EvaluationFlag, EvaluationStatus, moved
from shared.evaluation.ports import EvaluationKit
from shared.evaluation.probes import (
    ProbeSet,
    interleaved,
    paraphrase_probes,
    question_key,
    trained_probes,
    validation_probes,
)
from shared.evaluation.progress import (
    JUDGE_MAX_TOKENS,
    PARAPHRASE_MAX_TOKENS,
    Evaluation,
    Setup,
    Task,
    TaskKind,
    estimate_tokens,
)
from shared.evaluation.report import report_markdown
from shared.evaluation.sources import (
    PROBES_FILE,
    dropped_probes_of,
    examples_of,
    markdown_path,
    previous_paraphrases,
    probes_path,
    report_path,
)
from shared.runs.names import FileKind
from shared.runs.record import Run
from shared.tokens import count_tokens

if TYPE_CHECKING:  # the pipeline's steps import this module
    from shared.pipeline.services import Services

logger = logging.getLogger(__name__)

E = EvaluationStatus


def advance_evaluation(run: Run, services: Services, now: datetime) -> None:
    """Starts the run's evaluation if due, makes a few calls, finishes it when all are done.
    Raises `TransientServiceError` (after saving progress) when a call must wait."""
    kit = services.evaluation
    flag = run.evaluation
    if kit is None or run.deployment is None:
        if run.claim is not None:
            run.release_claim(run.claim)
        return
    if flag is None or flag.status is E.REQUESTED:
        config = run.config
        if config is not None and not config.evaluate:
            why = 'run.json says "evaluate": false'
            skipped = moved(flag, E.SKIPPED, now, why)
            run.evaluation_changed(skipped, now, f"evaluation skipped: {why}", step_done=True)
            run.raise_event("evaluation_skipped", now, why)
            return
        evaluation = start(run, services, kit, now, flag.attempt if flag else 1)
        flag = moved(flag, E.EVALUATING, now, "started")
        flag.report = report_path(run.name)
        flag.estimated_tokens = evaluation.estimated_tokens
        flag.estimated_usd = _usd(evaluation.estimated_tokens, kit)
        note = f"evaluation started: {_started(evaluation, flag)}"
        run.evaluation_changed(flag, now, note, step_done=True)
        details = {
            "attempt": flag.attempt,
            "estimated_tokens": flag.estimated_tokens,
            "estimated_cost_usd": flag.estimated_usd,
        }
        run.raise_event("evaluation_started", now, note, data={"evaluation": details})
    else:
        evaluation = _load(run, services, kit, now, flag)
    try:
        work(evaluation, services, kit)
    finally:
        flag = run.evaluation or flag
        flag.progress = _progress(evaluation)
        run.evaluation_changed(flag, services.clock(), step_done=True)
    if evaluation.finished:
        _finish(run, evaluation, kit, services.clock())
        if kit.on_evaluated is not None:
            kit.on_evaluated(run, services, services.clock())


def start(
    run: Run, services: Services, kit: EvaluationKit, now: datetime, attempt: int
) -> Evaluation:
    """Reads the run's files, builds the probe sets and saves the new evaluation."""
    settings = kit.settings
    setup = Setup(
        deployment=run.deployment.name if run.deployment else "",
        base_deployment=settings.base_deployment,
        grader_deployment=settings.grader_deployment,
        max_tokens=settings.max_tokens,
        seed=settings.seed,
        paraphrases_per_question=settings.paraphrases_per_question,
        call_cap=settings.call_cap,
    )
    notes: list[str] = []
    train = examples_of(run, services, FileKind.TRAIN, notes)
    validation = examples_of(run, services, FileKind.VALIDATION, notes)
    trained = trained_probes(train, settings.trained_probes)
    probes = [*trained, *validation_probes(validation, settings.validation_probes)]
    evaluation = Evaluation(run.name, attempt, setup, now, "none", notes=notes)
    evaluation.known_keys = sorted({question_key(e.question) for e in [*train, *validation]})
    dropped = dropped_probes_of(run, services, notes)
    previous = previous_paraphrases(run, kit, attempt)
    if dropped:
        evaluation.probe_source = PROBES_FILE
        probes += dropped
    elif previous:
        evaluation.probe_source = "generated"
        probes += previous
        notes.append(f"paraphrases reused from {probes_path(run.name)} of the previous evaluation")
    elif setup.grader_deployment:
        evaluation.probe_source = "generated"
        evaluation.paraphrase_pending = [probe.id for probe in trained]
    else:
        notes.append(
            "no paraphrases: no probes.jsonl in the run folder and no grader deployment "
            "(EVAL_GRADER_DEPLOYMENT) to write them"
        )
    if not setup.grader_deployment:
        notes.append("no judge configured (EVAL_GRADER_DEPLOYMENT): replies are not scored")
    evaluation.probes = interleaved(probes)
    paraphrasing = len(evaluation.paraphrase_pending)
    evaluation.estimated_tokens = estimate_tokens(
        evaluation.probes, setup, count_tokens, paraphrasing
    )
    kit.reports.write_json(report_path(run.name), evaluation.to_dict())
    logger.info("Run %s: evaluation %s started, %s probes", run.name, attempt, len(probes))
    return evaluation


def work(evaluation: Evaluation, services: Services, kit: EvaluationKit) -> None:
    """Makes up to `calls_per_tick` calls, saving the report after each."""
    deadline = services.clock() + timedelta(seconds=kit.settings.tick_seconds)
    path = report_path(evaluation.run)
    for _ in range(kit.settings.calls_per_tick):
        task = evaluation.next_task()
        if task is None:
            evaluation.finish(services.clock())
            return
        if evaluation.budget_left == 0:
            cap = evaluation.setup.call_cap
            evaluation.finish(
                services.clock(), f"the call cap of {cap} (EVAL_MAX_CALLS) was reached"
            )
            return
        if services.clock() >= deadline:
            return
        try:
            _carry_out(task, evaluation, kit)
        except TransientServiceError as exc:
            evaluation.call_made()
            gave_up = evaluation.attempt_failed(task, str(exc))
            kit.reports.write_json(path, evaluation.to_dict())
            if not gave_up:
                # A plain transient error: the tick records it and retries after Retry-After.
                raise TransientServiceError(str(exc), exc.retry_after) from exc
            continue
        except (PermanentServiceError, NotFound) as exc:
            evaluation.call_made()
            evaluation.failed(task, str(exc))
        kit.reports.write_json(path, evaluation.to_dict())
    if evaluation.next_task() is None:
        evaluation.finish(services.clock())


def _carry_out(task: Task, evaluation: Evaluation, kit: EvaluationKit) -> None:
    probe = evaluation.probe(task.probe)
    setup = evaluation.setup
    deployment = evaluation.deployment_for(task)
    if task.kind is TaskKind.PARAPHRASE:
        answer = kit.models.ask(
            deployment,
            judging.paraphrase_messages(probe, setup.paraphrases_per_question),
            max_tokens=PARAPHRASE_MAX_TOKENS,
            seed=setup.seed,
            response_format=judging.PARAPHRASE_SCHEMA,
        )
        evaluation.call_made(answer.usage)
        try:
            candidates = judging.parse_paraphrases(answer.reply)
        except judging.UnreadableAnswer as exc:
            evaluation.failed(task, str(exc))
            return
        filtered = paraphrase_probes(
            probe,
            candidates[: setup.paraphrases_per_question],
            evaluation.known_keys,
            kit.settings.max_similarity,
        )
        evaluation.paraphrased(probe.id, filtered)
    elif task.kind is TaskKind.ASK:
        answer = kit.models.ask(
            deployment, probe.messages, max_tokens=setup.max_tokens, seed=setup.seed
        )
        evaluation.call_made(answer.usage)
        evaluation.answered(task, answer.reply)
    else:
        reply = evaluation.results[probe.id][task.target]["reply"]
        messages = judging.judge_messages(evaluation.judge_question(probe), probe.reference, reply)
        answer = kit.models.ask(
            deployment,
            messages,
            max_tokens=JUDGE_MAX_TOKENS,
            seed=setup.seed,
            response_format=judging.JUDGE_SCHEMA,
        )
        evaluation.call_made(answer.usage)
        try:
            evaluation.judged(task, judging.parse_judgement(answer.reply))
        except judging.UnreadableAnswer as exc:
            evaluation.failed(task, f"the judge's answer could not be read: {exc}")


def _finish(run: Run, evaluation: Evaluation, kit: EvaluationKit, now: datetime) -> None:
    verdict = evaluation.verdict()
    report = evaluation.to_dict()
    kit.reports.write_json(report_path(run.name), report)
    kit.reports.write_text(
        markdown_path(run.name), report_markdown(report), "text/markdown; charset=utf-8"
    )
    generated = [
        p for p in evaluation.probes if p.set is ProbeSet.PARAPHRASED and p.variation != "dropped"
    ]
    if evaluation.probe_source == "generated" and generated:
        lines = "".join(probe.jsonl_line() + "\n" for probe in generated)
        kit.reports.write_text(probes_path(run.name), lines, "application/jsonl; charset=utf-8")
    flag = moved(run.evaluation, E.EVALUATED, now, verdict.headline)
    flag.verdict, flag.headline, flag.action = verdict.verdict, verdict.headline, verdict.action
    flag.scores = report["scores"]
    flag.progress = _progress(evaluation)
    run.evaluation_changed(flag, now, f"evaluated: {verdict.headline}", step_done=True)
    details = {
        "attempt": flag.attempt,
        "verdict": verdict.verdict,
        "headline": verdict.headline,
        "action": verdict.action,
        "scores": flag.scores,
    }
    run.raise_event("evaluated", now, verdict.headline, data={"evaluation": details})
    logger.info("Run %s: evaluated: %s", run.name, verdict.headline)


def _load(
    run: Run, services: Services, kit: EvaluationKit, now: datetime, flag: EvaluationFlag
) -> Evaluation:
    data = kit.reports.read_json(report_path(run.name))
    if data is None or int(data.get("attempt", 0)) != flag.attempt:
        logger.warning("Run %s: evaluation report missing; starting it again", run.name)
        return start(run, services, kit, now, flag.attempt)
    return Evaluation.from_dict(data)


def _usd(tokens: int, kit: EvaluationKit) -> float:
    return round(tokens * kit.settings.usd_per_million_tokens / 1_000_000, 4)


def _progress(evaluation: Evaluation) -> str:
    done = sum(len(result) for result in evaluation.results.values())
    return (
        f"{evaluation.calls} calls made (cap {evaluation.setup.call_cap}), "
        f"{len(evaluation.probes)} probes, {done} answers and judgements recorded"
    )


def _started(evaluation: Evaluation, flag: EvaluationFlag) -> str:
    counts = {kind: 0 for kind in ProbeSet}
    for probe in evaluation.probes:
        counts[probe.set] += 1
    sets = ", ".join(f"{count} {kind.value}" for kind, count in counts.items() if count)
    if evaluation.paraphrase_pending:
        sets += f", paraphrases of {len(evaluation.paraphrase_pending)} questions to generate"
    cost = f" (~${flag.estimated_usd:.4f})" if flag.estimated_usd is not None else ""
    return f"{sets or 'no probes'}; at most {evaluation.estimated_tokens:,} tokens{cost}"
