"""Where an evaluation's probes come from: the run's files in the inbox, a dropped probes.jsonl,
the previous evaluation's report; and where its documents go in the reports container."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from shared.errors import ConcurrentUpdate, NotFound
from shared.evaluation.ports import EvaluationKit
from shared.evaluation.probes import (
    Example,
    Probe,
    ProbeSet,
    dropped_probes,
    examples_from_lines,
)
from shared.runs.names import FileKind, run_name_problem
from shared.runs.record import Run

if TYPE_CHECKING:  # the pipeline's steps import the evaluation's service
    from shared.pipeline.services import Services

PROBES_FILE = "probes.jsonl"
MAX_EXAMPLES_READ = 2000
"""Probes are drawn from the first examples of a file: enough to sample, never a whole 500 MB."""
MAX_PROBES_BYTES = 4 * 1024 * 1024


def report_path(run: str) -> str:
    return f"{run}/evaluation.json"


def markdown_path(run: str) -> str:
    return f"{run}/evaluation.md"


def probes_path(run: str) -> str:
    """Where generated probes are saved, in the chat format a probes.jsonl takes."""
    return f"{run}/evaluation.probes.jsonl"


def examples_of(run: Run, services: Services, kind: FileKind, notes: list[str]) -> list[Example]:
    verdict = run.files.get(kind)
    if verdict is None or not verdict.valid:
        return []
    try:
        lines = _lines(services.inbox.chunks(f"{run.name}/{kind.value}", verdict.blob_etag))
        return examples_from_lines(_first(lines, MAX_EXAMPLES_READ))
    except (ConcurrentUpdate, NotFound):
        notes.append(f"{kind.value} changed or was deleted since it was trained on: not probed")
        return []


def is_probes_blob(blob_name: str) -> bool:
    """True for `<run>/probes.jsonl` with a valid run name."""
    folder, _, file_name = blob_name.partition("/")
    return file_name == PROBES_FILE and run_name_problem(folder) is None


def check_probes(
    services: Services, blob_name: str, model: str | None = None
) -> tuple[dict[str, Any], bytes] | None:
    """Validates a probes.jsonl like the other run files (line by line, with the same rules)
    but with no minimum number of examples, and writes its report next to theirs. Returns the
    report and the content, or None when the blob is gone."""
    from shared.validation import validate_dataset  # the tokenizer loads only when needed

    info = services.inbox.info(blob_name)
    if info is None:
        return None
    report_name = f"{blob_name}.report.json"
    if info.size > MAX_PROBES_BYTES:
        message = f"{PROBES_FILE} is {info.size} bytes; probes may take at most {MAX_PROBES_BYTES}"
        problem = {"file": PROBES_FILE, "line": None, "code": "file_too_large", "message": message}
        data: dict[str, Any] = {"valid": False, "errors": [problem], "warnings": []}
        services.reports.write(report_name, data)
        return data, b""
    content = b"".join(services.inbox.chunks(blob_name, info.etag))
    options = {"model": model} if model else {}
    data = validate_dataset([content], training_name=PROBES_FILE, **options).to_dict()
    data["errors"] = [e for e in data["errors"] if e["code"] != "too_few_examples"]
    data["valid"] = not data["errors"]
    services.reports.write(report_name, data)
    return data, content


def dropped_probes_of(run: Run, services: Services, notes: list[str]) -> list[Probe]:
    """The probes.jsonl the user dropped in the run folder, validated again (it may have
    changed since it was dropped)."""
    blob = f"{run.name}/{PROBES_FILE}"
    checked = check_probes(services, blob, run.config.model if run.config else None)
    if checked is None:
        return []
    data, content = checked
    if not data["valid"]:
        notes.append(f"{PROBES_FILE} is not valid (see {blob}.report.json): not used")
        return []
    probes = dropped_probes(examples_from_lines(content.splitlines()))
    notes.append(f"paraphrases from {PROBES_FILE} ({len(probes)} probes)")
    return probes


def previous_paraphrases(run: Run, kit: EvaluationKit, attempt: int) -> list[Probe]:
    """The generated paraphrases of the previous evaluation, so a rerun asks the same ones."""
    if attempt <= 1:
        return []
    data = kit.reports.read_json(report_path(run.name))
    if not data or data.get("probe_source") != "generated" or data.get("paraphrase_pending"):
        return []
    return [
        Probe.from_dict(item)
        for item in data.get("items", [])
        if item.get("set") == ProbeSet.PARAPHRASED.value
    ]


def _lines(chunks: Iterator[bytes]) -> Iterator[bytes]:
    pending = b""
    for chunk in chunks:
        pending += chunk
        *complete, pending = pending.split(b"\n")
        yield from complete
    if pending:
        yield pending


def _first(lines: Iterator[bytes], count: int) -> Iterator[bytes]:
    for number, line in enumerate(lines):
        if number >= count:
            return
        yield line
