"""Improving a run: new phrasings of its training questions, written as a child run's files.

`improve_run` (POST /api/runs/<run>/improve) reads the run's training file and its
evaluation's probes, asks the grader for new phrasings of every example, keeps those that pass
the n-gram filter, checks the augmented file with the validator (tokens, cost) and writes the
child's files to the reports container, under `<run>/improvement/<child>/`. With `start`, or
with no hands (`auto_improve`, after an evaluation whose verdict calls for it), it drops them
as a new run folder `<child>/` into the inbox, unless the estimated training cost is over the
cap. Uploaded blobs are never changed: the child's blobs are created only where none is.

What happened is kept in `<run>/improvement.json` (the parent's children) and
`<child>/lineage.json` (the child's parent), both in the reports container, and announced with
the event `tunedrop.run.improved` (`data.improvement.stage`: "written", "started").
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared.errors import Conflict, NotFound, TunedropError
from shared.evaluation.flag import EvaluationStatus
from shared.evaluation.judging import UnreadableAnswer
from shared.evaluation.ports import EvaluationKit
from shared.evaluation.probes import (
    Example,
    Probe,
    ProbeSet,
    examples_from_lines,
    question_key,
)
from shared.evaluation.sources import report_path
from shared.improvement.lineage import (
    child_name,
    child_run_json,
    over_cap,
)
from shared.improvement.phrasings import (
    PHRASINGS_SCHEMA,
    kept_phrasings,
    parse_phrasings,
    phrasing_messages,
    subject_of,
)
from shared.improvement.ports import ImprovementKit
from shared.improvement.records import (
    files_folder,
    improvement_path,
    lineage_path,
    record_comparison,
)
from shared.pipeline.commands import change_run, get_run
from shared.runs.names import FileKind
from shared.runs.record import Run

if TYPE_CHECKING:
    from shared.pipeline.protocols import ChatReply
    from shared.pipeline.services import Services

logger = logging.getLogger(__name__)

CALLS_FOR_IT = "learned the trained phrasings only"
CHILD_FILES = ("run.json", "probes.jsonl", "validation.jsonl", "train.jsonl")
"""In the order they are dropped: the training file last, so the child starts with all."""


@dataclass
class Augmented:
    lines: list[str] = field(default_factory=list)
    kept: int = 0
    dropped: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    calls: int = 0


def improve_run(
    services: Services,
    kit: ImprovementKit,
    name: str,
    now: datetime,
    *,
    start: bool,
    max_usd: float | None = None,
    record_on: Run | None = None,
) -> dict[str, Any]:
    """Writes the child's files for run `name` (once per evaluation of it) and, with `start`,
    drops them into the inbox. Returns the child's entry of `<run>/improvement.json`.
    Notes and events go on `record_on` when given (the caller saves it), else on the stored run.
    Raises `NotFound` for an unknown run, `Conflict` when the run has no evaluation to improve
    on, has no grader, or (after writing the files) when the child's cost is over the cap."""
    evaluation = _evaluation_kit(services)
    run = record_on or get_run(services.runs, name)
    flag = run.evaluation
    if flag is None or flag.status is not EvaluationStatus.EVALUATED or not flag.report:
        raise Conflict(
            f"run {name!r} has no finished evaluation to improve on; its evaluation finds what "
            "the data is missing (see GET /api/runs/<run>/evaluation)."
        )
    history = kit.reports.read_json(improvement_path(name)) or {"run": name, "children": []}
    entry = next((c for c in history["children"] if c.get("parent_attempt") == flag.attempt), None)
    announce = _announcer(services, record_on)
    if entry is None:
        entry = _write_child_files(run, services, kit, evaluation, now, history, announce)
    if start and entry["status"] != "started":
        _start_child(run, kit, entry, history, now, max_usd, announce)
    return entry


def after_evaluation(kit: ImprovementKit, run: Run, services: Services, now: datetime) -> None:
    """What follows an evaluation (the evaluation kit's `on_evaluated`): a child's report gets
    its comparison with the parent, and a run that asks for it is improved."""
    record_comparison(services, run)
    auto_improve(kit, run, services, now)


def auto_improve(kit: ImprovementKit, run: Run, services: Services, now: datetime) -> None:
    """After an evaluation: improves the run with no hands when run.json asks for it and the
    verdict calls for it. A refusal or failure is noted in the run's timeline, never raised:
    the evaluation is done, and POST /api/runs/<run>/improve can try again."""
    config, flag = run.config, run.evaluation
    if config is None or not config.improve.auto or flag is None or flag.verdict != CALLS_FOR_IT:
        return
    try:
        entry = improve_run(services, kit, run.name, now, start=True, record_on=run)
    except TunedropError as exc:
        note = f"improvement not started: {exc}"
        logger.info("Run %s: %s", run.name, note)
        run.evaluation_changed(flag, now, note)
        return
    logger.info("Run %s: improved with no hands: child %s", run.name, entry["run"])


# -- writing the files ---------------------------------------------------------------------------


def _write_child_files(
    run: Run,
    services: Services,
    kit: ImprovementKit,
    evaluation: EvaluationKit,
    now: datetime,
    history: dict[str, Any],
    announce: Announce,
) -> dict[str, Any]:
    from shared.validation import validate_dataset  # the tokenizer loads only when needed

    flag = run.evaluation
    if flag is None:
        raise Conflict(f"run {run.name!r} has no evaluation to improve on.")
    report = evaluation.reports.read_json(report_path(run.name)) or {}
    probes = [
        Probe.from_dict(item)
        for item in report.get("items", [])
        if item.get("set") in (ProbeSet.PARAPHRASED.value, ProbeSet.VALIDATION.value)
    ]
    train = _read(run, services, FileKind.TRAIN)
    if train is None:
        raise Conflict(f"run {run.name!r}: its train.jsonl is gone or changed; nothing to improve")
    validation = _read(run, services, FileKind.VALIDATION)
    augmented = _augment(run, evaluation, kit, train, validation, probes)
    taken = {c["run"] for c in history["children"]}
    child = child_name(
        run.name,
        lambda name: (
            name in taken or kit.inbox.has_folder(name) or services.runs.find(name) is not None
        ),
    )
    used = run.job.hyperparameters.get("n_epochs") if run.job and run.job.hyperparameters else None
    settings, changes = child_run_json(
        run.config, run.overfitting, used if isinstance(used, int) else None
    )
    content = (
        train.rstrip(b"\n") + b"\n" + "".join(f"{line}\n" for line in augmented.lines).encode()
    )
    epochs = settings.get("hyperparameters", {}).get("n_epochs")
    checked = validate_dataset(
        [content],
        [validation] if validation else None,
        model=settings.get("model") or services.policy.defaults.model,
        epochs=epochs if isinstance(epochs, int) else None,
        training_name="train.jsonl",
        validation_name="validation.jsonl",
    ).to_dict()
    folder = files_folder(run.name, child)
    kit.reports.write_json(f"{folder}/train.jsonl.report.json", checked)
    errors = [e for e in checked["errors"] if e["file"] == "train.jsonl"]
    if errors:
        where = f"line {errors[0]['line']}: " if errors[0].get("line") else ""
        raise Conflict(
            f"the augmented training file did not pass validation ({len(errors)} errors; first: "
            f"{where}{errors[0]['message']}); see {folder}/train.jsonl.report.json"
        )
    stats = checked.get("stats", {})
    files = {
        "run.json": json.dumps(settings, ensure_ascii=False, indent=2) + "\n",
        # Only the paraphrases: the child's validation set comes from its validation.jsonl.
        "probes.jsonl": "".join(
            probe.jsonl_line() + "\n" for probe in probes if probe.set is ProbeSet.PARAPHRASED
        ),
        "train.jsonl": content.decode("utf-8"),
    }
    if validation:
        files["validation.jsonl"] = validation.decode("utf-8")
    for file_name, text in files.items():
        kit.reports.write_text(f"{folder}/{file_name}", text, "application/jsonl; charset=utf-8")
    entry: dict[str, Any] = {
        "run": child,
        "parent": run.name,
        "parent_attempt": flag.attempt,
        "parent_verdict": flag.verdict,
        "status": "written",
        "written_at": now.isoformat(),
        "files": {name: f"{folder}/{name}" for name in files},
        "examples": stats.get("files", {}).get("train.jsonl", {}).get("examples"),
        "new_phrasings": augmented.kept,
        "dropped_phrasings": augmented.dropped,
        "grader_calls": augmented.calls,
        "notes": augmented.notes,
        "changes": changes,
        "billable_training_tokens": stats.get("billable_training_tokens"),
        "estimated_training_cost_usd": stats.get("estimated_training_cost_usd"),
        "how_to_start": (
            f'POST /api/runs/{run.name}/improve with {{"start": true}}, or copy the files in '
            f"{folder}/ of the reports container to a new folder {child}/ of the inbox"
        ),
    }
    history["children"].append(entry)
    kit.reports.write_json(improvement_path(run.name), history)
    note = (
        f"improvement written: {augmented.kept} new phrasings of the training questions for "
        f"child run {child} ({_usd(entry)}); to start it: {entry['how_to_start']}"
    )
    announce(run.name, now, note, "written", entry)
    return entry


def _augment(
    run: Run,
    evaluation: EvaluationKit,
    kit: ImprovementKit,
    train: bytes,
    validation: bytes | None,
    probes: list[Probe],
) -> Augmented:
    examples = examples_from_lines(train.splitlines())
    limit = kit.settings.max_examples
    if len(examples) > limit:
        raise Conflict(
            f"run {run.name!r} has {len(examples)} training examples; an improvement asks the "
            f"grader once per example and takes at most {limit} (IMPROVE_MAX_EXAMPLES)"
        )
    grader = evaluation.settings.grader_deployment
    if not grader:
        raise Conflict("no grader deployment (EVAL_GRADER_DEPLOYMENT) to write new phrasings")
    subject = ""
    if run.config is not None and run.config.improve.subject:
        subject = run.config.improve.subject
    else:
        train_report = evaluation.reports.read_json(f"{run.name}/train.jsonl.report.json") or {}
        subject = subject_of(train_report.get("warnings", []))
    probe_questions = [
        m["content"] for probe in probes for m in probe.messages if m["role"] == "user"
    ]
    known = {question_key(e.question): "a training question" for e in examples}
    for example in examples_from_lines((validation or b"").splitlines()):
        known[question_key(example.question)] = "a validation question"
    result = Augmented()
    result.notes.append(f"subject: {subject!r}" if subject else "no subject named or found")
    count = kit.settings.phrasings

    def ask(example: Example) -> ChatReply:
        return evaluation.models.ask(
            grader,
            phrasing_messages(example, subject, count),
            max_tokens=kit.settings.max_tokens,
            seed=evaluation.settings.seed,
            response_format=PHRASINGS_SCHEMA,
        )

    # A few calls at a time: one per example, in the request or the tick that asked for it.
    with ThreadPoolExecutor(max_workers=kit.settings.parallel_calls) as pool:
        answers = list(pool.map(ask, examples))
    result.calls = len(answers)
    # The filter runs in the examples' order, so the same answers keep the same phrasings.
    for number, (example, answer) in enumerate(zip(examples, answers, strict=True), start=1):
        try:
            candidates = parse_phrasings(answer.reply)[:count]
        except UnreadableAnswer as exc:
            result.notes.append(f"example {number}: the grader's answer could not be read: {exc}")
            continue
        found = kept_phrasings(
            example, candidates, probe_questions, known, evaluation.settings.max_similarity
        )
        result.lines += [kept.jsonl_line() for kept in found.kept]
        result.kept += len(found.kept)
        result.dropped += [{"question": d.question, "reason": d.reason} for d in found.dropped]
    if not result.kept:
        raise Conflict(
            f"the grader wrote no phrasing of run {run.name!r} that passed the filter against "
            "the evaluation's probes and the training questions"
        )
    return result


def _read(run: Run, services: Services, kind: FileKind) -> bytes | None:
    verdict = run.files.get(kind)
    if verdict is None or not verdict.valid:
        return None
    try:
        return b"".join(services.inbox.chunks(f"{run.name}/{kind.value}", verdict.blob_etag))
    except (NotFound, Conflict):
        return None


# -- starting the child --------------------------------------------------------------------------


def _start_child(
    run: Run,
    kit: ImprovementKit,
    entry: dict[str, Any],
    history: dict[str, Any],
    now: datetime,
    max_usd: float | None,
    announce: Announce,
) -> None:
    cap, where = _cap(run, kit, max_usd)
    refused = over_cap(entry.get("estimated_training_cost_usd"), cap, where)
    if refused:
        entry["refused"] = f"child run {entry['run']} not started: {refused}"
        kit.reports.write_json(improvement_path(run.name), history)
        announce(run.name, now, entry["refused"], "", entry)
        raise Conflict(entry["refused"] + "; raise the cap to start it.")
    child = entry["run"]
    kit.reports.write_json(
        lineage_path(child),
        {"parent": run.name, "parent_attempt": entry["parent_attempt"], "at": now.isoformat()},
    )
    for file_name in CHILD_FILES:
        path = entry["files"].get(file_name)
        if path is None:
            continue
        content = kit.reports.read_text(path)
        if content is None:
            raise NotFound(f"the child's {file_name} is gone from the reports container ({path})")
        kit.inbox.create(f"{child}/{file_name}", content.encode("utf-8"))
    entry["status"], entry["started_at"] = "started", now.isoformat()
    entry.pop("refused", None)
    kit.reports.write_json(improvement_path(run.name), history)
    note = f"improvement started: child run {child} dropped into the inbox ({_usd(entry)})"
    announce(run.name, now, note, "started", entry)


def _cap(run: Run, kit: ImprovementKit, asked: float | None) -> tuple[float, str]:
    if asked is not None:
        return asked, "max_usd of the request"
    if run.config is not None and run.config.improve.max_usd is not None:
        return run.config.improve.max_usd, 'run.json "improve.max_usd"'
    return kit.settings.max_usd, "IMPROVE_MAX_USD"


Announce = Callable[[str, datetime, str, str, dict[str, Any]], None]
"""(run, now, note, stage, entry): a note in the parent's timeline, and with a stage the event."""


def _announcer(services: Services, on: Run | None) -> Announce:
    def announce(name: str, now: datetime, note: str, stage: str, entry: dict[str, Any]) -> None:
        details = {
            "stage": stage,
            "child": entry["run"],
            "new_phrasings": entry["new_phrasings"],
            "estimated_training_cost_usd": entry["estimated_training_cost_usd"],
            "files": entry["files"],
        }

        def record(run: Run) -> bool:
            if run.evaluation is None:
                return False
            run.evaluation_changed(run.evaluation, now, note)
            if stage:
                run.raise_event("improved", now, note, data={"improvement": details})
            return True

        if on is not None:
            record(on)
        else:
            change_run(services, name, record)

    return announce


def _usd(entry: dict[str, Any]) -> str:
    cost = entry.get("estimated_training_cost_usd")
    return f"${cost:.4f} to train" if isinstance(cost, int | float) else "cost unknown"


def _evaluation_kit(services: Services) -> EvaluationKit:
    if services.evaluation is None:
        raise Conflict("evaluation is turned off (EVAL_ENABLED is false); nothing to improve on.")
    return services.evaluation
